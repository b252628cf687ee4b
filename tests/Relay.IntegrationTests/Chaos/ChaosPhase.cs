namespace Relay.IntegrationTests.Chaos;

/// <summary>One step of the run: from its fault (for the first, the start of the writes) to the next step's fault.</summary>
internal sealed record ChaosPhase(string Name, TimeSpan Fault)
{
    /// <summary>What happened, measured while it ran (e.g. which instance was killed and how many streams it owned).</summary>
    public string Note { get; set; } = "";
}
