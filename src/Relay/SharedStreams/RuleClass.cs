namespace Relay.SharedStreams;

/// <summary>
/// The classification of one rule (or of a topic: its collection's rule and the subscription's options). Shared
/// carries the auth fields the rule reads, sorted: none means the rule does not depend on who asks at all (guests
/// included); <c>id</c> is only ever read as "signed in or not" (the classifier refuses any other use of it).
/// </summary>
internal sealed class RuleClass
{
    private RuleClass(RuleClassKind kind, string? reason, IReadOnlyList<string> authFields)
    {
        Kind = kind;
        Reason = reason;
        AuthFields = authFields;
    }

    /// <summary>Public, or depending on the record alone: one class for everyone, guests included.</summary>
    public static RuleClass Everyone { get; } = new(RuleClassKind.Shared, null, []);

    /// <summary>A null rule: nothing is delivered to anyone but superusers.</summary>
    public static RuleClass SuperusersOnly { get; } = new(RuleClassKind.SuperusersOnly, "the rule is null (superusers only)", []);

    public RuleClassKind Kind { get; }

    /// <summary>Why a rule is per user (or superusers only), in words for logs and documentation; null when shared.</summary>
    public string? Reason { get; }

    /// <summary>The <c>@request.auth.*</c> fields a shared rule reads, sorted ordinally and distinct.</summary>
    public IReadOnlyList<string> AuthFields { get; }

    public bool IsShared => Kind == RuleClassKind.Shared;

    public static RuleClass PerUser(string reason) => new(RuleClassKind.PerUser, reason, []);

    public static RuleClass Shared(IEnumerable<string> authFields)
    {
        var fields = authFields.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return fields.Length == 0 ? Everyone : new RuleClass(RuleClassKind.Shared, null, fields);
    }

    public override string ToString() => Kind switch
    {
        RuleClassKind.Shared => AuthFields.Count == 0 ? "shared (everyone)" : $"shared by {string.Join(", ", AuthFields)}",
        _ => $"{Kind}: {Reason}",
    };
}
