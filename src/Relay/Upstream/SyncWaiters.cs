namespace Relay.Upstream;

/// <summary>
/// The subscriptions waiting until PocketBase holds a version of the session's topic set: the bookkeeping shared by a
/// session's own stream (<see cref="UpstreamConnection"/>) and a cluster stream (<c>ClusterUpstream</c>). Not
/// thread-safe: each owner calls it under its own lock (the cluster stream also switches its mode under that lock).
/// </summary>
internal sealed class SyncWaiters
{
    // A subscription whose topic PocketBase refused while its caller had not started waiting yet (another subscribe's
    // POST carried the topic first) must fail too, not find its version confirmed: the refusal is remembered with the
    // topic-set version it was found in. Bounded: only a waiter racing the refusal needs it.
    private const int RefusalsKept = 256;
    private readonly List<Waiter> _waiters = [];
    private readonly Dictionary<string, (long Version, Exception Error)> _refusals = new(StringComparer.Ordinal);
    private long _confirmed = -1;

    /// <summary>The highest version confirmed held; -1 after <see cref="Reset"/>. Readable without the owner's lock.</summary>
    public long Confirmed => Volatile.Read(ref _confirmed);

    /// <summary>Completed already when <paramref name="version"/> is confirmed; otherwise completes with a later confirmation, or fails.</summary>
    /// <param name="version">The topic-set version the caller needs held.</param>
    /// <param name="topic">The upstream topic the caller brought, failed on its own when PocketBase refuses it.</param>
    public Task Wait(long version, string? topic)
    {
        if (topic is not null && _refusals.TryGetValue(topic, out var refusal) && refusal.Version >= version)
        {
            return Task.FromException(refusal.Error);
        }

        if (_confirmed >= version)
        {
            return Task.CompletedTask;
        }

        var waiter = new Waiter(version, topic, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _waiters.Add(waiter);
        return waiter.Completion.Task;
    }

    /// <summary>Takes over a waiter from another stream (completed at once when its version is already confirmed here).</summary>
    public void Add(Waiter waiter)
    {
        if (_confirmed >= waiter.Version)
        {
            waiter.Completion.TrySetResult();
        }
        else
        {
            _waiters.Add(waiter);
        }
    }

    /// <summary>Removes every waiter, to be handed to another stream.</summary>
    public List<Waiter> TakeAll()
    {
        var all = new List<Waiter>(_waiters);
        _waiters.Clear();
        return all;
    }

    /// <summary>A new stream (or a Redis that came back): nothing is known to be held any more.</summary>
    public void Reset() => Volatile.Write(ref _confirmed, -1);

    /// <summary>PocketBase holds <paramref name="version"/>: completes every waiter up to it.</summary>
    public void Complete(long version)
    {
        Volatile.Write(ref _confirmed, Math.Max(_confirmed, version));
        _waiters.RemoveAll(waiter =>
        {
            if (waiter.Version > version)
            {
                return false;
            }

            waiter.Completion.TrySetResult();
            return true;
        });
    }

    /// <summary>Fails the waiters whose own topic PocketBase refused, with <paramref name="error"/>(topic).</summary>
    /// <param name="refused">The topics PocketBase refused.</param>
    /// <param name="error">The exception for a refused topic.</param>
    /// <param name="version">
    /// The topic-set version the refusal was found in, when known: a waiter for that version or an older one that comes
    /// later fails as well (a later subscription of the same topic has a newer version and waits as usual).
    /// </param>
    public void FailRefused(IReadOnlyCollection<string> refused, Func<string, Exception> error, long? version = null)
    {
        if (version is { } found)
        {
            if (_refusals.Count + refused.Count > RefusalsKept)
            {
                _refusals.Clear();
            }

            foreach (var topic in refused)
            {
                _refusals[topic] = (found, error(topic));
            }
        }

        var topics = new HashSet<string>(refused, StringComparer.Ordinal);
        _waiters.RemoveAll(waiter =>
        {
            if (waiter.Topic is null || !topics.Contains(waiter.Topic))
            {
                return false;
            }

            waiter.Completion.TrySetException(error(waiter.Topic));
            return true;
        });
    }

    /// <summary>Fails every waiter with <paramref name="exception"/>.</summary>
    public void FailAll(Exception exception)
    {
        foreach (var waiter in _waiters)
        {
            waiter.Completion.TrySetException(exception);
        }

        _waiters.Clear();
    }

    internal readonly record struct Waiter(long Version, string? Topic, TaskCompletionSource Completion);
}
