using System.ComponentModel.DataAnnotations;

namespace Relay.Cluster;

/// <summary>
/// Settings under <c>Relay:Cluster</c>, used only in cluster mode (when <c>Relay:Redis:Configuration</c> is set): how
/// the instance owning a session's PocketBase stream holds it, and how the others follow.
/// </summary>
internal sealed class ClusterOptions : IValidatableObject
{
    public const string SectionName = "Relay:Cluster";

    /// <summary>
    /// How long an owner's lease lives without renewal: after a crash, another instance takes the session's stream over
    /// within about this time (plus one <see cref="RenewInterval"/>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan LeaseTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often an owner renews its leases, and every other instance checks whether a lease is free.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:30")]
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long an instance shutting down (SIGTERM) waits for another one to open its replacement stream before it
    /// lets the session go without a handover (its clients then get <c>Resync</c>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan HandoverTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an owner handing over still reads its PocketBase stream after the successor's stream holds every topic,
    /// before it closes its own. PocketBase sends each change to each client on its own (from a goroutine): a change made
    /// just before the successor's subscriptions were accepted reaches only the old stream, and may still be on its way.
    /// Closed at once, that change went to neither stream (lost without a <c>Resync</c>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan HandoverOverlap { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Approximate number of entries a session's Redis Stream keeps (<c>XADD MAXLEN ~</c>).</summary>
    [Range(100, 10_000_000)]
    public int StreamMaxLength { get; set; } = 10_000;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RenewInterval * 2 > LeaseTime)
        {
            yield return new ValidationResult(
                $"Relay:Cluster:RenewInterval ({RenewInterval}) must be at most half of Relay:Cluster:LeaseTime ({LeaseTime}): a lease must survive one late renewal.",
                [nameof(RenewInterval)]);
        }

        if (HandoverTimeout > TimeSpan.Zero && HandoverOverlap >= HandoverTimeout)
        {
            yield return new ValidationResult(
                $"Relay:Cluster:HandoverOverlap ({HandoverOverlap}) must be shorter than Relay:Cluster:HandoverTimeout ({HandoverTimeout}): the overlap is part of every handover.",
                [nameof(HandoverOverlap)]);
        }
    }
}
