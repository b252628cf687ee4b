using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.Chaos;

/// <summary>
/// The steady writes: the admin (who is no client) creates, updates and deletes notes owned by the users, one every
/// <c>notesEvery</c>, and creates an announcement (every client's probe of being live) every <c>announceEvery</c>.
/// </summary>
internal sealed class ChaosWriter(PocketBaseAdmin admin, IReadOnlyList<string> owners, TimeSpan notesEvery, TimeSpan announceEvery)
{
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(15);
    private readonly object _gate = new();
    private readonly List<ChaosWrite> _writes = [];
    private readonly Random _random = new(20_7);
    private int _sequence;
    private IReadOnlyList<string>? _focus;

    public List<ChaosWrite> Writes()
    {
        lock (_gate)
        {
            return [.. _writes];
        }
    }

    /// <summary>From now on, half the note changes go to <paramref name="focus"/>'s owners (a phase's users of interest).</summary>
    public void Focus(IReadOnlyList<string>? focus) => Volatile.Write(ref _focus, focus);

    public Task RunAsync(CancellationToken stopping) => Task.WhenAll(NotesAsync(stopping), AnnouncementsAsync(stopping));

    private async Task NotesAsync(CancellationToken stopping)
    {
        // Each owner's live note and its last title (a delete event carries the record as it was).
        var live = new Dictionary<string, (string Id, string Title)>();
        using var timer = new PeriodicTimer(notesEvery);
        while (await Tick(timer, stopping))
        {
            var focus = Volatile.Read(ref _focus);
            var owner = focus is { Count: > 0 } && _random.Next(2) == 0 ? focus[_random.Next(focus.Count)] : owners[_random.Next(owners.Count)];
            var title = NextTitle();
            var start = ChaosClock.Now;
            if (!live.TryGetValue(owner, out var note))
            {
                var created = await TryAsync(() => admin.CreateRecordAsync("notes", new { title, owner }));
                var id = created?.GetProperty("id").GetString();
                if (id is not null)
                {
                    live[owner] = (id, title);
                }

                Add(new ChaosWrite("notes", "create", id ?? "", title, owner, start, ChaosClock.Now, id is not null));
            }
            else if (_random.Next(10) < 7)
            {
                var updated = await TryAsync(() => admin.UpdateRecordAsync("notes", note.Id, new { title }));
                if (updated is not null)
                {
                    live[owner] = (note.Id, title);
                }
                else
                {
                    // Unknown whether it changed: the note's later events could not be named; leave it.
                    live.Remove(owner);
                }

                Add(new ChaosWrite("notes", "update", note.Id, title, owner, start, ChaosClock.Now, updated is not null));
            }
            else
            {
                var deleted = await TryAsync(async () =>
                {
                    await admin.DeleteRecordAsync("notes", note.Id);
                    return default(System.Text.Json.JsonElement);
                });
                live.Remove(owner);
                Add(new ChaosWrite("notes", "delete", note.Id, note.Title, owner, start, ChaosClock.Now, deleted is not null));
            }
        }
    }

    private async Task AnnouncementsAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(announceEvery);
        while (await Tick(timer, stopping))
        {
            var title = NextTitle();
            var start = ChaosClock.Now;
            var created = await TryAsync(() => admin.CreateRecordAsync("announcements", new { title }));
            var id = created?.GetProperty("id").GetString();
            Add(new ChaosWrite("announcements", "create", id ?? "", title, null, start, ChaosClock.Now, id is not null));
        }
    }

    private static async Task<bool> Tick(PeriodicTimer timer, CancellationToken stopping)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stopping);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<System.Text.Json.JsonElement?> TryAsync(Func<Task<System.Text.Json.JsonElement>> write)
    {
        try
        {
            return await write().WaitAsync(WriteTimeout);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException or TaskCanceledException)
        {
            return null;
        }
    }

    private string NextTitle() => $"c{Interlocked.Increment(ref _sequence)}";

    private void Add(ChaosWrite write)
    {
        lock (_gate)
        {
            _writes.Add(write);
        }
    }
}
