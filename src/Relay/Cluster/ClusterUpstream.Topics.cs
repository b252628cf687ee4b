using Relay.PocketBase;
using Relay.Upstream;
using StackExchange.Redis;

namespace Relay.Cluster;

internal sealed partial class ClusterUpstream
{
    /// <summary>Writes this instance's topics (with their version and an expiry, renewed as a heartbeat) to the session's hash.</summary>
    private async Task PublishTopicsAsync(IClusterStore database, CancellationToken stopping)
    {
        var dirty = Volatile.Read(ref _topicsDirty);
        Volatile.Write(ref _topicsDirty, false);
        var snapshot = _subscriber.GetTopics();
        var expiresAt = _timeProvider.GetUtcNow() + (_options.LeaseTime * 3);
        var value = InstanceTopics.Format(snapshot, expiresAt);
        var epoch = await database.PublishTopicsAsync(_keys, MemberId, value).WaitAsync(stopping);
        if (epoch != _epoch)
        {
            // The Stream this incarnation reads was deleted before its entry was there to keep it (the last follower left
            // meanwhile): read the new one from its end (its entry now keeps it), and tell the connections, which may
            // have been replayed from the old one.
            Log.StreamReplaced(_logger, StreamName);
            lock (_startGate)
            {
                _position = RedisValue.Null;
            }

            await StartReadingAsync(database, stopping);
            await _subscriber.OnResubscribedAsync();
            dirty = true;
        }

        _nextHeartbeat = _timeProvider.GetTimestamp() + (long)(_options.LeaseTime.TotalSeconds * _timeProvider.TimestampFrequency);
        if (dirty)
        {
            await Store.NotifyAsync(_keys, 't').WaitAsync(stopping);
        }
    }

    /// <summary>
    /// Removes this incarnation's topics and lease; when no other incarnation (here or elsewhere) follows the stream any
    /// more, its keys too, in one step (<see cref="ClusterScripts.Leave"/>).
    /// </summary>
    private async Task LeaveAsync()
    {
        if (!_node.IsConnected)
        {
            return;
        }

        if (!await Store.LeaveAsync(_keys, MemberId, _timeProvider.GetUtcNow()))
        {
            await Store.NotifyAsync(_keys, 't');
        }
    }

    private void CompleteWaiters(long version)
    {
        lock (_waitersGate)
        {
            _waiters.Complete(version);
        }
    }

    private void FailRefused(IReadOnlyCollection<string> refused)
    {
        lock (_waitersGate)
        {
            _waiters.FailRefused(refused, topic => new TopicRefusedException(
                topic,
                new UpstreamException("PocketBase refused the topic (on the instance that holds this session's stream).", System.Net.HttpStatusCode.Forbidden)));
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
