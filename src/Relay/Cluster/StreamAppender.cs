using StackExchange.Redis;

namespace Relay.Cluster;

/// <summary>
/// Writes a session's Redis Stream for this incarnation, one append at a time: the owner's events, its confirmations,
/// the handover's markers. Owns the gap owed: appends dropped while Redis was unreachable are not lost silently (every
/// follower cut off from Redis runs its own stream and resyncs), and the Stream gets a gap entry before the next append,
/// so no recovery read spans them. Appends come from the owner's stream and from the tasks that confirm beside it; one
/// at a time, the gap entry is written exactly once and in its place.
/// </summary>
internal sealed class StreamAppender(IClusterStore store, ClusterKeys keys, string member, int maxLength) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    // 1 when appends were dropped since the last gap entry. Set without _gate (the fast path must not queue behind
    // appends waiting for a Redis that is gone), taken under it.
    private int _gapOwed;

    /// <summary>
    /// Appends <paramref name="fields"/> (from <see cref="ClusterEntry"/>) and, when <paramref name="notify"/>, tells the
    /// followers. Dropped, and a gap owed, while Redis is unreachable: failing fast keeps the owner's stream from backing up.
    /// An append that fails also owes a gap (and throws).
    /// </summary>
    public async Task AppendAsync(NameValueEntry[] fields, bool notify = true)
    {
        if (!store.IsConnected)
        {
            Interlocked.Exchange(ref _gapOwed, 1);
            return;
        }

        await _gate.WaitAsync();
        try
        {
            // Taken before the gap entry is written: an append dropped meanwhile owes the next one.
            if (Interlocked.Exchange(ref _gapOwed, 0) == 1)
            {
                try
                {
                    await store.AppendAsync(keys, ClusterEntry.Resync(member), maxLength);
                }
                catch
                {
                    Interlocked.Exchange(ref _gapOwed, 1);
                    throw;
                }
            }

            // The notification is pipelined behind the append, so it arrives after the entry exists.
            var notified = Task.CompletedTask;
            try
            {
                var append = store.AppendAsync(keys, fields, maxLength);
                notified = notify ? store.NotifyAsync(keys, 'e') : Task.CompletedTask;
                await append;
            }
            catch
            {
                // Failed while connected (a timeout, Redis going away): the entry is lost, which the followers must hear of.
                Interlocked.Exchange(ref _gapOwed, 1);
                await notified.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                throw;
            }

            await notified;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>After every stream that appends here has stopped.</summary>
    public void Dispose() => _gate.Dispose();
}
