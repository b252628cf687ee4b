using System.ComponentModel.DataAnnotations;

namespace Relay.SharedStreams;

/// <summary>
/// Settings under <c>Relay:SharedStreams</c>: reading PocketBase's collection rules to find topics whose visibility does
/// not depend on who asks (issue #22). Off by default. The rules are read with the superuser credentials of
/// <see cref="SuperuserCredentialsOptions"/>; without them nothing is shared.
/// </summary>
internal sealed class SharedStreamsOptions : IValidatableObject
{
    public const string SectionName = "Relay:SharedStreams";

    /// <summary>Reads the rules (and, once class streams exist, shares streams). Off: Relay never signs in as a superuser.</summary>
    public bool Enabled { get; set; }

    /// <summary>How often the rules are read again, so a rule changed in PocketBase's admin UI is noticed.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RulesRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Rules read longer ago than this are not used (nothing is shared) until a read succeeds again: sharing on rules
    /// that may have changed is worse than a stream per user.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:02", "1.00:00:00")]
    public TimeSpan RulesMaxAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The least time between two reads asked for on demand (<c>RefreshAsync</c>, when PocketBase refuses a shared
    /// topic): many refusals at once cost PocketBase one read per this interval, not one each.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RefreshSpacing { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Shadow verification: how many members (at most) also keep their shared topics on their own stream, so what the
    /// class stream carried can be compared with what PocketBase sends them alone. Always on while sharing.
    /// </summary>
    [Range(1, 100)]
    public int ShadowSampleSize { get; set; } = 3;

    /// <summary>How long an event may be carried by one side (class stream or own stream) before the other's absence is a disagreement.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan ShadowWindow { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the sampled members are chosen again (a rotating sample covers every class over time).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ShadowRotateInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a class stream holds each event before sending it, checking then whether each member is still alive.
    /// PocketBase sends the updates it makes inside a user's deletion (a relation to the user cleared) before the deletion
    /// itself, on other streams than the one that tells Relay of the death: the hold lets that news arrive first. Zero
    /// sends at once (those updates may then reach the deleted member).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan DeathHold { get; set; } = TimeSpan.FromMilliseconds(50);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RulesMaxAge <= RulesRefreshInterval)
        {
            yield return new ValidationResult(
                $"{SectionName}:RulesMaxAge ({RulesMaxAge}) must be longer than {SectionName}:RulesRefreshInterval ({RulesRefreshInterval}): otherwise the rules go stale between two reads.",
                [nameof(RulesMaxAge)]);
        }
    }
}
