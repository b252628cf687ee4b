using Relay.PocketBase;

namespace Relay.Upstream;

internal sealed partial class UpstreamConnection
{
    /// <summary>Posts the session's topic set to the current stream whenever it changes.</summary>
    private async Task SyncLoopAsync()
    {
        var stopping = _stopping.Token;
        try
        {
            while (await _syncRequests.Reader.WaitToReadAsync(stopping))
            {
                _syncRequests.Reader.TryRead(out _);
                await _postGate.WaitAsync(stopping);
                var current = Volatile.Read(ref _current);
                try
                {
                    if (current is not null)
                    {
                        // Without a current stream the next connect posts the whole set anyway.
                        await PostTopicsAsync(current, stopping);
                    }
                }
                catch (Exception ex) when (!stopping.IsCancellationRequested)
                {
                    // A POST that fails on a live stream for another reason than a refused topic (most often 404:
                    // PocketBase already dropped this client id) leaves the stream's subscriptions unknown; start over
                    // with a fresh stream rather than guess.
                    Log.SyncFailed(_logger, _subscriber.Name, ex);
                    FailWaiters(ex);
                    current!.Stream.Abort();
                }
                finally
                {
                    _postGate.Release();
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    /// <summary>
    /// Posts the session's topic set on <paramref name="handle"/>. When PocketBase refuses it because of some topics,
    /// finds them, drops them from the session, fails only the subscriptions that brought them, and leaves PocketBase
    /// holding every other topic. Callers hold the POST gate.
    /// </summary>
    private async Task PostTopicsAsync(StreamHandle handle, CancellationToken cancellationToken)
    {
        var snapshot = _subscriber.GetTopics();
        try
        {
            await SetAsync(handle, snapshot.Topics, cancellationToken);
        }
        catch (UpstreamException ex) when (ex.IsRefusal)
        {
            var refused = await FindRefusedAsync(handle, snapshot.Topics, ex, cancellationToken);
            if (refused.Count > 0)
            {
                _metrics.UpstreamTopicsRefused(refused.Count);
                Log.TopicsRefused(_logger, _subscriber.Name, refused.Count, (int)ex.StatusCode!.Value);
                FailRefused(refused, ex, snapshot.Version);
                _subscriber.OnTopicsRefused(refused, snapshot.Version);
            }
        }

        CompleteWaiters(snapshot.Version);
    }

    /// <summary>
    /// Bisects the topics PocketBase does not hold yet against the set it last accepted, never posting a set without
    /// a topic it already holds (a refused POST leaves the set as it was), so nobody else's events stop.
    /// </summary>
    /// <returns>The refused topics; PocketBase then holds all the others.</returns>
    private async Task<List<string>> FindRefusedAsync(StreamHandle handle, IReadOnlyCollection<string> topics, UpstreamException refusal, CancellationToken cancellationToken)
    {
        var held = handle.Accepted;
        var accepted = topics.Where(held.Contains).ToList();
        var added = topics.Where(topic => !held.Contains(topic)).ToList();
        if (added.Count == 0)
        {
            // Only removals, and still refused: not a topic's fault.
            throw refusal;
        }

        // First the part PocketBase already holds: when even that is refused, the refusal is not about a topic (a
        // token PocketBase stopped accepting, or a client id tied to another address) and the stream must start over.
        try
        {
            await SetAsync(handle, accepted, cancellationToken);
        }
        catch (UpstreamException ex) when (ex.IsRefusal)
        {
            throw refusal;
        }

        var refused = new List<string>();
        await BisectAsync(added);
        return refused;

        async Task BisectAsync(List<string> part)
        {
            try
            {
                await SetAsync(handle, [.. accepted, .. part], cancellationToken);
                accepted.AddRange(part);
            }
            catch (UpstreamException ex) when (ex.IsRefusal)
            {
                if (part.Count == 1)
                {
                    refused.Add(part[0]);
                    return;
                }

                var half = part.Count / 2;
                await BisectAsync(part[..half]);
                await BisectAsync(part[half..]);
            }
        }
    }

    private async Task SetAsync(StreamHandle handle, IReadOnlyCollection<string> topics, CancellationToken cancellationToken)
    {
        await _client.SetSubscriptionsAsync(handle.ClientId, topics, handle.Token ?? _subscriber.Token, cancellationToken);
        _metrics.UpstreamSubscriptionPosted();
        handle.Accepted = new HashSet<string>(topics, StringComparer.Ordinal);
    }

    private void CompleteWaiters(long version)
    {
        lock (_waitersGate)
        {
            _waiters.Complete(version);
        }
    }

    private void FailRefused(List<string> refused, UpstreamException refusal, long version)
    {
        lock (_waitersGate)
        {
            _waiters.FailRefused(refused, topic => new TopicRefusedException(topic, refusal), version);
        }
    }

    private void FailWaiters(Exception exception)
    {
        lock (_waitersGate)
        {
            _waiters.FailAll(exception);
        }
    }
}
