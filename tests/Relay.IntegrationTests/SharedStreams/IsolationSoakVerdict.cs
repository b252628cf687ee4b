namespace Relay.IntegrationTests.SharedStreams;

/// <summary>What the soak found, judged against each viewer's own direct PocketBase stream.</summary>
internal sealed record IsolationSoakVerdict(
    long Deliveries,
    long Owed,
    long DirectEvents,
    long Duplicates,
    long Resyncs,
    long ExcusedByResync,
    long AllowedAsGuest,
    List<string> Leaks,
    List<string> Misses,
    List<string> DuplicateExamples);
