using System.Diagnostics;
using Relay.Sessions;
using Relay.Upstream;

namespace Relay.SharedStreams;

/// <summary>
/// Shadow verification (issue #22 item 4): a rotating sample of members also hold their shared topics on their own
/// stream; what that stream carries is compared with what their class stream carried. A disagreement means the class
/// was wrong for that collection (a hook that changes records per viewer, a rule changed and not read yet, a field
/// Relay cannot see): sharing is switched off for the collection until Relay restarts, its members go back to their
/// own streams (with a Resync), an error is logged and <c>relay.shared.shadow.disagreements</c> counts it.
/// </summary>
internal sealed partial class ClassStreams
{
    private readonly Dictionary<(UserSession Member, string UpstreamTopic), ShadowSample> _shadows = [];
    private readonly HashSet<string> _disabled = new(StringComparer.Ordinal);
    private ITimer? _shadowTimer;
    private long _lastRotation;

    /// <summary>Collections whose sharing shadow verification switched off (ids), for tests and diagnostics.</summary>
    public IReadOnlyCollection<string> Disabled
    {
        get
        {
            lock (_gate)
            {
                return [.. _disabled];
            }
        }
    }

    private void StartShadowing()
    {
        var period = TimeSpan.FromTicks(Math.Max(_options.ShadowWindow.Ticks / 2, TimeSpan.FromMilliseconds(50).Ticks));
        _lastRotation = _timeProvider.GetTimestamp();
        _shadowTimer = _timeProvider.CreateTimer(static state => ((ClassStreams)state!).OnShadowTick(), this, period, period);
    }

    /// <summary>Sweeps every comparison, and picks the sample again every <see cref="SharedStreamsOptions.ShadowRotateInterval"/>.</summary>
    internal void OnShadowTick()
    {
        List<(ShadowSample Sample, IReadOnlyList<string> Late)> disagreements = [];
        lock (_gate)
        {
            foreach (var sample in _shadows.Values)
            {
                if (sample.Comparer.TakeMatched() is var matched and > 0)
                {
                    _metrics.ShadowComparisons.Add(matched, new KeyValuePair<string, object?>("collection", sample.Stream.Collection));
                }

                if (sample.Comparer.Sweep() is { Count: > 0 } late)
                {
                    disagreements.Add((sample, late));
                }
            }
        }

        foreach (var (sample, late) in disagreements)
        {
            _metrics.ShadowDisagreements.Add(late.Count, new KeyValuePair<string, object?>("collection", sample.Stream.Collection));
            Log.ShadowDisagreement(_logger, sample.Stream.Collection, sample.Member.Name, late.Count, late[0]);
            DisableCollection(sample.Stream.CollectionId);
        }

        if (_timeProvider.GetElapsedTime(_lastRotation) >= _options.ShadowRotateInterval)
        {
            _lastRotation = _timeProvider.GetTimestamp();
            RotateSample(topUp: false);
        }
        else if (SampleShort())
        {
            RotateSample(topUp: true);
        }
    }

    /// <summary>Sharing is off for <paramref name="collectionId"/> from now on: every member of its class streams moves to its own stream.</summary>
    private void DisableCollection(string collectionId)
    {
        UserSession[] members;
        lock (_gate)
        {
            if (!_disabled.Add(collectionId))
            {
                return;
            }

            members = [.. _streams.Values.Where(stream => stream.CollectionId == collectionId).SelectMany(static stream => stream.Connections.Values).Distinct()];
        }

        foreach (var member in members)
        {
            _ = MoveMemberAsync(member);
        }
    }

    /// <summary>
    /// Whether the sample holds fewer than <see cref="SharedStreamsOptions.ShadowSampleSize"/> members while a placed member
    /// is not in it: members who arrived after the last pick, or a sample that could not start. Without this the sample
    /// stayed at whoever was placed at the first tick (often a single member) until the next rotation.
    /// </summary>
    private bool SampleShort()
    {
        lock (_gate)
        {
            if (_placements.Count == 0)
            {
                return false;
            }

            var sampled = SampledMembers();
            if (sampled.Count >= _options.ShadowSampleSize)
            {
                return false;
            }

            foreach (var (connection, placements) in _placements)
            {
                foreach (var placement in placements.Values)
                {
                    if (placement.Stream.Connections.TryGetValue(connection, out var member) && !sampled.Contains(member))
                    {
                        return true;
                    }
                }
            }

            return false;
        }
    }

    private HashSet<UserSession> SampledMembers()
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        var sampled = new HashSet<UserSession>();
        foreach (var (member, _) in _shadows.Keys)
        {
            sampled.Add(member);
        }

        return sampled;
    }

    /// <summary>
    /// Picks up to <see cref="SharedStreamsOptions.ShadowSampleSize"/> members at random and shadows their shared topics;
    /// with <paramref name="topUp"/>, keeps the members sampled now and adds others at random up to that size.
    /// </summary>
    private void RotateSample(bool topUp)
    {
        List<ShadowSample> started = [];
        lock (_gate)
        {
            var candidates = new Dictionary<UserSession, List<(string UpstreamTopic, ClassStream Stream)>>();
            foreach (var (connection, placements) in _placements)
            {
                foreach (var placement in placements.Values)
                {
                    if (placement.Stream.Connections.TryGetValue(connection, out var member))
                    {
                        if (!candidates.TryGetValue(member, out var topics))
                        {
                            candidates[member] = topics = [];
                        }

                        topics.Add((placement.Request.UpstreamTopic, placement.Stream));
                    }
                }
            }

            HashSet<UserSession> chosen;
            if (topUp)
            {
                chosen = SampledMembers();
                chosen.IntersectWith(candidates.Keys);
                chosen.UnionWith(candidates.Keys.Where(member => !chosen.Contains(member)).OrderBy(static _ => Random.Shared.Next()).Take(_options.ShadowSampleSize - chosen.Count).ToArray());
            }
            else
            {
                chosen = candidates.Keys.OrderBy(static _ => Random.Shared.Next()).Take(_options.ShadowSampleSize).ToHashSet();
            }

            foreach (var (key, sample) in _shadows.ToArray())
            {
                if (!chosen.Contains(key.Member))
                {
                    StopShadow(sample);
                }
            }

            foreach (var member in chosen)
            {
                foreach (var (upstreamTopic, stream) in candidates[member])
                {
                    if (!_shadows.ContainsKey((member, upstreamTopic)))
                    {
                        var sample = new ShadowSample(member, upstreamTopic, stream, new ShadowComparer(_timeProvider, _options.ShadowWindow));
                        _shadows[(member, upstreamTopic)] = sample;
                        started.Add(sample);
                    }
                }
            }
        }

        foreach (var sample in started)
        {
            _ = StartShadowAsync(sample);
        }
    }

    private async Task StartShadowAsync(ShadowSample sample)
    {
        try
        {
            await sample.Member.WatchAsync(sample.UpstreamTopic, upstreamEvent => OnOwnShadowEvent(sample, upstreamEvent), _subscribeTimeout, CancellationToken.None);
            sample.Comparer.Reset();
        }
        catch (Exception ex)
        {
            // Not comparable this round (the member left, PocketBase refused): a later tick picks again.
            Log.ShadowNotStarted(_logger, sample.Member.Name, ex.GetType().Name);
            lock (_gate)
            {
                if (_shadows.TryGetValue((sample.Member, sample.UpstreamTopic), out var current) && current == sample)
                {
                    StopShadow(sample);
                }
            }
        }
    }

    private static void OnOwnShadowEvent(ShadowSample sample, UpstreamEvent? upstreamEvent)
    {
        if (upstreamEvent is { } seen)
        {
            sample.Comparer.OnOwn(ShadowComparer.KeyOf(seen));
        }
        else
        {
            sample.Comparer.Reset();
        }
    }

    /// <summary>An event (null: a gap or holder change) of <paramref name="stream"/>, for the samples compared with it.</summary>
    private void OnClassEvent(ClassStream stream, UpstreamEvent? upstreamEvent)
    {
        lock (_gate)
        {
            foreach (var sample in _shadows.Values)
            {
                if (sample.Stream != stream)
                {
                    continue;
                }

                if (upstreamEvent is not { } seen)
                {
                    sample.Comparer.Reset();
                }
                else if (seen.UpstreamTopic == sample.UpstreamTopic)
                {
                    sample.Comparer.OnShared(ShadowComparer.KeyOf(seen));
                }
            }
        }
    }

    /// <summary>
    /// <paramref name="stream"/> drops its events until it is reopened with another holder's token: its samples stop
    /// comparing until its Resync (the <see cref="UserSession.Tap"/>'s null) arms them again. Under the lock.
    /// </summary>
    private void PauseShadows(ClassStream stream)
    {
        foreach (var sample in _shadows.Values)
        {
            if (sample.Stream == stream)
            {
                sample.Comparer.Pause();
            }
        }
    }

    /// <summary>Stops shadowing <paramref name="member"/>'s topics (it moved, or its topic left the stream). Under the lock.</summary>
    private void StopShadows(UserSession member, string? upstreamTopic = null)
    {
        foreach (var (key, sample) in _shadows.ToArray())
        {
            if (key.Member == member && (upstreamTopic is null || key.UpstreamTopic == upstreamTopic))
            {
                StopShadow(sample);
            }
        }
    }

    /// <summary>Under the lock (the session's lock is taken after ours, as everywhere here).</summary>
    private void StopShadow(ShadowSample sample)
    {
        _shadows.Remove((sample.Member, sample.UpstreamTopic));
        sample.Member.Unwatch(sample.UpstreamTopic);
    }
}
