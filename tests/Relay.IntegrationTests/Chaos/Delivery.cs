namespace Relay.IntegrationTests.Chaos;

/// <summary>What a client received, in the order its handlers ran.</summary>
internal sealed record Delivery(TimeSpan At, string Topic, string Action, string Id, string Title, string? Owner)
{
    public string Collection => Topic[..Topic.IndexOf('/', StringComparison.Ordinal)];

    public string Key => ChaosWrite.KeyOf(Collection, Action, Id, Title);
}
