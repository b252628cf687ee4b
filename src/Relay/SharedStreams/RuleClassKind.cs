namespace Relay.SharedStreams;

/// <summary>What a collection rule means for sharing a PocketBase stream between users.</summary>
internal enum RuleClassKind
{
    /// <summary>Visibility may differ between any two users (or the rule is not understood): one stream per user, as without sharing.</summary>
    PerUser,

    /// <summary>Users with the same values of the auth fields the rule reads see exactly the same events: one stream per class would do.</summary>
    Shared,

    /// <summary>A null rule: only superusers see these records, so PocketBase delivers nothing to anyone Relay serves; nothing to share.</summary>
    SuperusersOnly,
}
