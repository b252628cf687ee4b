using System.Security.Cryptography;
using System.Text;

namespace Relay.Upstream;

/// <summary>
/// Decides which events reach the session while a stream is being replaced (make before break). Until the old stream is
/// retired its events are delivered at once and remembered; the new stream's are held back. When the old one is retired
/// the held events it did not already deliver follow, and for a short while later events of the new stream that match
/// one the old stream delivered are dropped. Matching counts occurrences, so a change delivered once on the old stream
/// suppresses exactly one copy on the new one. It also notices an old stream that was already cut when it was retired:
/// see <see cref="MissedByRetired"/>. Owned by one thread (the delivery loop); not thread-safe.
/// </summary>
internal sealed class RotationDeduplicator
{
    private readonly Dictionary<string, int> _delivered = new(StringComparer.Ordinal);
    private readonly List<UpstreamEvent> _held = [];
    private int _primary = -1;
    private int _successor = -1;
    private bool _recording;
    private bool _primaryReadDuringRotation;
    private long _dropMatchesUntil;

    /// <summary>Events held from the new stream (for tests and diagnostics).</summary>
    public int HeldCount => _held.Count;

    /// <summary>
    /// Set by <see cref="CompleteRotation"/>: how many events the retired stream should have read and never did. Not zero
    /// means it was cut before the rotation (a half-open connection the kernel had not noticed yet) and whatever PocketBase
    /// sent on it since the cut is lost, though the rotation itself went as planned.
    /// </summary>
    public int MissedByRetired { get; private set; }

    /// <summary>A fresh stream after a loss: its events are delivered as they come and nothing is remembered.</summary>
    public void Reset(int primary)
    {
        _primary = primary;
        _successor = -1;
        _recording = false;
        _primaryReadDuringRotation = false;
        _dropMatchesUntil = 0;
        _delivered.Clear();
        _held.Clear();
    }

    /// <summary>A rotation starts: from now on the primary stream's events are remembered.</summary>
    public void BeginRotation()
    {
        _recording = true;
        _primaryReadDuringRotation = false;
        _delivered.Clear();
    }

    /// <summary>The replacement stream's subscriptions were accepted; its events are held until the old stream is retired.</summary>
    public void AddSuccessor(int successor) => _successor = successor;

    /// <summary>The replacement failed; the old stream stays primary.</summary>
    public void AbandonRotation()
    {
        _successor = -1;
        _recording = false;
        _delivered.Clear();
        _held.Clear();
    }

    /// <summary>
    /// The old stream was retired (it will send nothing more): the successor becomes primary. Returns its held events
    /// that the old stream had not delivered, in their order; until <paramref name="dropMatchesUntil"/> (a timestamp) its
    /// later events that match a remaining delivered one are dropped too.
    /// </summary>
    /// <param name="dropMatchesUntil">Timestamp until which the new stream's copies of the old stream's events are dropped.</param>
    /// <param name="retiredTopics">The topics PocketBase held for the old stream; null skips the check of <see cref="MissedByRetired"/>.</param>
    /// <param name="missedBefore">
    /// Timestamp: a released event the new stream read before it, on a topic of <paramref name="retiredTopics"/>, had time
    /// to arrive on the old stream as well. Later ones may still have been on their way and prove nothing.
    /// </param>
    public List<UpstreamEvent> CompleteRotation(long dropMatchesUntil, IReadOnlySet<string>? retiredTopics = null, long missedBefore = 0)
    {
        var release = new List<UpstreamEvent>(_held.Count);
        MissedByRetired = 0;
        foreach (var held in _held)
        {
            if (!TryConsume(held))
            {
                release.Add(held);

                // PocketBase sends every change on every stream that holds its topic: one the new stream had in time and
                // the old one never read means the old one read nothing any more. Only a stream that read nothing at all
                // during the rotation counts, so a live one whose copy was merely late (PocketBase does not order its
                // sends) never passes for cut.
                if (retiredTopics is not null && !_primaryReadDuringRotation
                    && held.ReceivedTimestamp <= missedBefore && retiredTopics.Contains(held.UpstreamTopic))
                {
                    MissedByRetired++;
                }
            }
        }

        _held.Clear();
        _primary = _successor;
        _successor = -1;
        _recording = false;
        _dropMatchesUntil = dropMatchesUntil;
        return release;
    }

    /// <summary>True when <paramref name="upstreamEvent"/>, read from stream <paramref name="streamId"/> at <paramref name="now"/>, is to be delivered now.</summary>
    public bool ShouldDeliver(int streamId, in UpstreamEvent upstreamEvent, long now)
    {
        if (streamId == _successor)
        {
            _held.Add(upstreamEvent);
            return false;
        }

        if (streamId != _primary)
        {
            // A retired stream: whatever it still had is superseded by its successor.
            return false;
        }

        if (_recording)
        {
            _primaryReadDuringRotation = true;
            var key = KeyOf(upstreamEvent);
            _delivered[key] = _delivered.GetValueOrDefault(key) + 1;
            return true;
        }

        if (_delivered.Count == 0)
        {
            return true;
        }

        if (now > _dropMatchesUntil)
        {
            _delivered.Clear();
            return true;
        }

        return !TryConsume(upstreamEvent);
    }

    private bool TryConsume(in UpstreamEvent upstreamEvent)
    {
        var key = KeyOf(upstreamEvent);
        if (!_delivered.TryGetValue(key, out var count))
        {
            return false;
        }

        if (count == 1)
        {
            _delivered.Remove(key);
        }
        else
        {
            _delivered[key] = count - 1;
        }

        return true;
    }

    /// <summary>
    /// Topic, action, record id, <c>updated</c> and a hash of the whole record JSON: two distinct changes differ in at
    /// least one of them (two updates within one millisecond still differ in content), while both streams of one
    /// session carry byte-identical JSON for the same change (same user, same options).
    /// </summary>
    internal static string KeyOf(in UpstreamEvent upstreamEvent)
    {
        var record = upstreamEvent.Record;
        var id = record.TryGetProperty("id", out var idValue) ? idValue.ToString() : string.Empty;
        var updated = record.TryGetProperty("updated", out var updatedValue) ? updatedValue.ToString() : string.Empty;
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(record.GetRawText())), 0, 16);
        return string.Join('\n', upstreamEvent.UpstreamTopic, upstreamEvent.Action, id, updated, hash);
    }
}
