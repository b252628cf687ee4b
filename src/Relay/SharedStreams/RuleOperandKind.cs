namespace Relay.SharedStreams;

/// <summary>What one side of a rule's comparison depends on.</summary>
internal enum RuleOperandKind
{
    /// <summary>A literal: text, number, <c>true</c>, <c>false</c>, <c>null</c>.</summary>
    Constant,

    /// <summary>The record (a field, a path through its relations, a modifier on it): the same for every viewer.</summary>
    Record,

    /// <summary>One field of the signed-in user's own auth record (<c>@request.auth.role</c>): the same for every viewer with that value.</summary>
    AuthField,

    /// <summary>Anything else (<c>@collection</c>, other <c>@request</c> values, macros, functions): never shared.</summary>
    Refused,
}
