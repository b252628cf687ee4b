namespace Relay.IntegrationTests.Chaos;

/// <summary>A <c>Resync</c> the client raised (from Relay, or its own after a reconnect that was not recovered).</summary>
internal sealed record ResyncNote(TimeSpan At, IReadOnlyList<string> Topics, string Reason);
