namespace Relay.SharedStreams;

/// <summary>The token types of PocketBase's filter scanner (fexpr) that reach the parser; whitespace and comments are skipped.</summary>
internal enum RuleTokenKind
{
    End,
    Identifier,
    Function,
    Number,
    Text,
    Sign,
    Join,
    Group,
}
