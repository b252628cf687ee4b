using Relay.Client;

namespace Relay.Demo;

/// <summary>The demo's Relay clients, one per viewer, printing what each receives and how long it took.</summary>
internal sealed class ClientGroup : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task ConnectAsync(Uri relay, Viewer viewer, StepClock clock, CancellationToken cancellationToken)
    {
        var client = new RelayClient(new RelayClientOptions
        {
            Url = relay,
            AccessTokenProvider = _ => ValueTask.FromResult(viewer.Token),
        });
        _owned.Add(client);
        client.Resync += signal =>
        {
            Console.WriteLine($"  {viewer.Name,-12} resync ({signal.Reason}): {string.Join(", ", signal.Topics)}");
            return Task.CompletedTask;
        };
        await client.StartAsync(cancellationToken);
        foreach (var topic in viewer.Topics)
        {
            _owned.Add(await client.SubscribeAsync(topic, e =>
            {
                viewer.Count();
                var id = e.Record.GetProperty("id").GetString()!;
                var latency = $" {clock.Elapsed.TotalMilliseconds:0.0} ms after the REST call started";
                var title = e.Record.TryGetProperty("title", out var t) ? t.GetString() : null;
                Console.WriteLine($"  {viewer.Name,-12} <- {e.Action,-6} {e.Topic,-16} {id} \"{title}\"{latency}");
                return Task.CompletedTask;
            }, cancellationToken: cancellationToken));
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
    }
}
