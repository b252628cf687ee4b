using System.Text.Json;
using System.Text.Json.Nodes;
using Relay.Client.Protocol;

namespace Relay.Client.Caching;

/// <summary>
/// Applies Relay's events to a query cache, with the race rules a naive version gets wrong:
/// <list type="bullet">
/// <item><c>create</c>: invalidate <c>[collection, "list"]</c>.</item>
/// <item><c>update</c>: cancel a fetch in flight for the detail (an older response would overwrite the pushed record), set
/// <c>[collection, "detail", id]</c> keeping its <c>expand</c> when the event has none, invalidate the lists.</item>
/// <item><c>delete</c>: cancel the detail's fetch; set an observed detail to <see langword="null"/> (removing a mounted
/// query leaves the record on screen), remove an unobserved one; invalidate the lists.</item>
/// <item><c>Resync</c>: drop the collections' unobserved details (they may hold records changed or deleted in the
/// gap, and nothing would refetch them) and refetch everything observed.</item>
/// <item>Out of order: PocketBase sends each event from its own goroutine, so rapid changes of one record can arrive out
/// of order (seen on 0.22.20: a delete, then the update written before it). Nothing refetches a detail, so a stale
/// event would stay: an update after its record's delete is dropped (the last <see cref="RememberedDeletes"/> deletes
/// are remembered; a <c>create</c> of the same id forgets it), and so is an update older than the cached record
/// (PocketBase's <c>updated</c>, whose text sorts by time). The lists are still invalidated.</item>
/// </list>
/// List invalidations are coalesced per collection: the first event of a quiet period invalidates at once, later ones
/// within <see cref="CoalesceWindow"/> are gathered into one more invalidation at the window's end, so a lone change
/// is seen without delay and a burst of N events costs about two refetches per list, not N. Thread-safe.
/// </summary>
public sealed class RelayCacheStrategy
{
    private readonly IQueryCache _cache;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _windowsGate = new();
    private readonly Dictionary<string, ListWindow> _windows = new(StringComparer.Ordinal);
    private readonly Lock _deletedGate = new();
    private readonly HashSet<string> _deleted = new(StringComparer.Ordinal);
    private readonly Queue<string> _deletedOrder = new();

    /// <summary>Creates the strategy for <paramref name="cache"/>.</summary>
    /// <param name="cache">The cache to keep in line with PocketBase.</param>
    /// <param name="coalesceWindow">How long further list invalidations of one collection are gathered after one has run. Default: 50 ms.</param>
    /// <param name="timeProvider">The clock for the window. Default: <see cref="TimeProvider.System"/>.</param>
    public RelayCacheStrategy(IQueryCache cache, TimeSpan? coalesceWindow = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        _cache = cache;
        CoalesceWindow = coalesceWindow ?? TimeSpan.FromMilliseconds(50);
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>How many deleted records are remembered, so that an update overtaken by its record's delete is dropped.</summary>
    public const int RememberedDeletes = 10_000;

    /// <summary>How long further list invalidations of one collection are gathered into one after an invalidation.</summary>
    public TimeSpan CoalesceWindow { get; }

    /// <summary>Applies one event.</summary>
    /// <param name="relayEvent">The event, as Relay delivered it.</param>
    public async Task ApplyAsync(RelayEvent relayEvent)
    {
        ArgumentNullException.ThrowIfNull(relayEvent);
        var collection = CollectionOf(relayEvent);
        var id = relayEvent.Record.ValueKind == JsonValueKind.Object && relayEvent.Record.TryGetProperty("id", out var idElement) ? idElement.GetString() : null;
        if (id is not null && relayEvent.Action == RelayActions.Create)
        {
            ForgetDeleted(collection, id);
        }

        if (id is not null && relayEvent.Action is RelayActions.Update or RelayActions.Delete)
        {
            var detail = QueryKey.Detail(collection, id);
            if (relayEvent.Action == RelayActions.Delete)
            {
                RememberDeleted(collection, id);
            }
            else if (IsOvertaken(collection, id, detail, relayEvent.Record))
            {
                ScheduleListInvalidation(collection);
                return;
            }

            await _cache.CancelFetchAsync(detail).ConfigureAwait(false);
            if (relayEvent.Action == RelayActions.Update)
            {
                // A later change may have been applied while this one waited for the cancellation.
                if (IsOvertaken(collection, id, detail, relayEvent.Record))
                {
                    ScheduleListInvalidation(collection);
                    return;
                }

                _cache.SetData(detail, KeepExpand(_cache.GetData(detail), relayEvent.Record));
            }
            else if (_cache.IsObserved(detail))
            {
                _cache.SetData(detail, null);
            }
            else
            {
                _cache.Remove(detail);
            }
        }

        ScheduleListInvalidation(collection);
    }

    /// <summary>Applies a <c>Resync</c>: unobserved details of the affected collections are dropped, everything observed is refetched.</summary>
    /// <param name="signal">The signal.</param>
    public Task ApplyResyncAsync(ResyncSignal signal)
    {
        ArgumentNullException.ThrowIfNull(signal);
        var collections = signal.Topics.Select(static topic => topic.Split('/')[0]).Distinct(StringComparer.Ordinal).ToList();
        foreach (var collection in collections)
        {
            _cache.RemoveUnobserved(new QueryKey(collection, "detail"));
        }

        return Task.WhenAll(collections.Select(collection => _cache.InvalidateAsync(QueryKey.Collection(collection))));
    }

    /// <summary>Completes when the list invalidations scheduled so far have run and their windows have closed.</summary>
    public Task FlushAsync()
    {
        lock (_windowsGate)
        {
            return Task.WhenAll(_windows.Values.Select(static window => window.Completion.Task).ToList());
        }
    }

    private static string CollectionOf(RelayEvent relayEvent)
        => relayEvent.Record.ValueKind == JsonValueKind.Object && relayEvent.Record.TryGetProperty("collectionName", out var name) && name.GetString() is { Length: > 0 } collection
            ? collection
            : relayEvent.Topic.Split('/')[0];

    /// <summary>True when a later change of the record is already applied: its delete, or a cached record updated after this one.</summary>
    private bool IsOvertaken(string collection, string id, QueryKey detail, JsonElement record)
    {
        lock (_deletedGate)
        {
            if (_deleted.Contains(Tombstone(collection, id)))
            {
                return true;
            }
        }

        return _cache.GetData(detail) is { ValueKind: JsonValueKind.Object } cached
            && cached.TryGetProperty("updated", out var before) && before.ValueKind == JsonValueKind.String
            && record.TryGetProperty("updated", out var after) && after.ValueKind == JsonValueKind.String
            && string.CompareOrdinal(after.GetString(), before.GetString()) < 0;
    }

    private void RememberDeleted(string collection, string id)
    {
        lock (_deletedGate)
        {
            var tombstone = Tombstone(collection, id);
            if (!_deleted.Add(tombstone))
            {
                return;
            }

            _deletedOrder.Enqueue(tombstone);
            // Bounded: the oldest go first.
            while (_deletedOrder.Count > RememberedDeletes)
            {
                _deleted.Remove(_deletedOrder.Dequeue());
            }
        }
    }

    private void ForgetDeleted(string collection, string id)
    {
        lock (_deletedGate)
        {
            _deleted.Remove(Tombstone(collection, id));
        }
    }

    private static string Tombstone(string collection, string id) => string.Concat(collection, "/", id);

    /// <summary>PocketBase's event records carry no <c>expand</c>; a detail fetched with one keeps it.</summary>
    private static JsonElement KeepExpand(JsonElement? current, JsonElement record)
    {
        if (record.TryGetProperty("expand", out _) || current is not { ValueKind: JsonValueKind.Object } existing || !existing.TryGetProperty("expand", out var expand))
        {
            return record;
        }

        var merged = JsonNode.Parse(record.GetRawText())!.AsObject();
        merged["expand"] = JsonNode.Parse(expand.GetRawText());
        return JsonSerializer.SerializeToElement(merged);
    }

    private void ScheduleListInvalidation(string collection)
    {
        ListWindow window;
        lock (_windowsGate)
        {
            if (_windows.TryGetValue(collection, out var open))
            {
                // A window is open: its trailing invalidation covers this event.
                open.Dirty = true;
                return;
            }

            window = new ListWindow();
            _windows.Add(collection, window);
        }

        _ = RunWindowAsync(collection, window);
    }

    /// <summary>
    /// Invalidates at once (a lone change costs no delay), then once more at the end of every window in which further
    /// events arrived; the window closes after one without events. A burst of N events costs at most one refetch per
    /// list per window, and the last refetch always starts after the last event.
    /// </summary>
    private async Task RunWindowAsync(string collection, ListWindow window)
    {
        try
        {
            while (true)
            {
                await _cache.InvalidateAsync(QueryKey.Lists(collection)).ConfigureAwait(false);
                await Task.Delay(CoalesceWindow, _timeProvider).ConfigureAwait(false);
                lock (_windowsGate)
                {
                    if (!window.Dirty)
                    {
                        _windows.Remove(collection);
                        break;
                    }

                    window.Dirty = false;
                }
            }

            window.Completion.TrySetResult();
        }
        catch (Exception ex)
        {
            lock (_windowsGate)
            {
                _windows.Remove(collection);
            }

            window.Completion.TrySetException(ex);
        }
    }

    private sealed class ListWindow
    {
        public bool Dirty;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
