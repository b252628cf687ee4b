using System.Collections.Concurrent;
using System.Net;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests.SharedStreams;

/// <summary>
/// One soak viewer (a user, or a guest when <see cref="Token"/> is null): its Relay tabs, and its own realtime stream
/// straight to PocketBase with the same token and every topic any of its tabs may take — what PocketBase itself sends
/// this viewer, the reference the tabs are judged against. Like PocketBase's SDK, the direct stream reconnects and
/// subscribes again with the same token if PocketBase ends it.
/// </summary>
internal sealed class IsolationSoakViewer(string name, string? id, string? token, IReadOnlyList<string> topics)
{
    private readonly CancellationTokenSource _stop = new();
    private Task _direct = Task.CompletedTask;

    public string Name { get; } = name;

    public string? Id { get; } = id;

    public string? Token { get; } = token;

    public bool IsGuest => Token is null;

    /// <summary>Every topic this viewer's tabs may subscribe to (the direct stream holds them all).</summary>
    public IReadOnlyList<string> Topics { get; } = topics;

    /// <summary>What the direct stream carried: (topic, event key), when it first arrived and how many times.</summary>
    public ConcurrentDictionary<(string Topic, string Key), (DateTime At, int Count)> Direct { get; } = new();

    public ConcurrentBag<IsolationSoakTab> Tabs { get; } = [];

    public string? Role { get; set; }

    /// <summary>
    /// The operation at which the user's token stopped working, when, and how (<c>deleted</c>, or <c>revoked</c> by a
    /// password change); null while it works. Its tabs are owed nothing from then on, and may get what a guest gets.
    /// </summary>
    public (long Index, DateTime At, string How)? TokenDead { get; set; }

    /// <summary>Times the direct stream ended without being asked (reconnected each time).</summary>
    public int DirectReconnects;

    public IEnumerable<IsolationSoakTab> OpenTabs => Tabs.Where(static tab => tab.ClosingAt is null);

    public async Task StartDirectAsync(Uri pocketBase)
    {
        var client = await OpenAsync(pocketBase);
        _direct = Task.Run(() => ReadAsync(pocketBase, client));
    }

    private async Task<RawRealtimeClient> OpenAsync(Uri pocketBase)
    {
        var client = await RawRealtimeClient.OpenAsync(pocketBase).DefaultTimeout();
        var status = await client.SubscribeAsync(Topics, Token).DefaultTimeout();
        // Once the token is dead PocketBase may take it as a guest's (204) or refuse it: either is its answer.
        if (status != HttpStatusCode.NoContent && TokenDead is null)
        {
            await client.DisposeAsync();
            throw new InvalidOperationException($"{Name}: PocketBase refused the direct subscription ({(int)status}).");
        }

        return client;
    }

    private async Task ReadAsync(Uri pocketBase, RawRealtimeClient client)
    {
        while (true)
        {
            try
            {
                await foreach (var (topic, data) in client.Messages.ReadAllAsync(_stop.Token))
                {
                    // PocketBase may send one key twice (clearing a deleted user from a record's owner and members).
                    var key = IsolationSoakEvents.Key(data.GetProperty("action").GetString()!, data.GetProperty("record"));
                    Direct.AddOrUpdate((topic, key), static _ => (DateTime.UtcNow, 1), static (_, seen) => (seen.At, seen.Count + 1));
                }
            }
            catch (OperationCanceledException)
            {
            }

            await client.DisposeAsync();
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            Interlocked.Increment(ref DirectReconnects);
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    client = await OpenAsync(pocketBase);
                    break;
                }
                catch (Exception) when (!_stop.IsCancellationRequested)
                {
                    await Task.Delay(100);
                }
            }

            if (_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    public async Task StopAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        await _direct.WaitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Task.WhenAll(Tabs.Select(static tab => tab.StopAsync())).WaitAsync(TimeSpan.FromSeconds(60));
    }
}
