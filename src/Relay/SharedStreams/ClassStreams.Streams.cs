using Relay.Fanout;
using Relay.Sessions;

namespace Relay.SharedStreams;

/// <summary>Class streams opened, left and closed, and what the metrics read of them.</summary>
internal sealed partial class ClassStreams
{
    /// <summary>Finds or opens the stream of <paramref name="member"/>'s class for the topic; null when the key cannot be computed. Under the lock.</summary>
    private ClassStream? StreamFor(UserSession member, string collection, bool wildcard, RuleClass ruleClass)
    {
        if (!_members.TryGetValue(member, out var state) || state.Record is not { } record
            || ClassKey.For(ruleClass, record) is not { } classKey
            || !_rules.Current.TryGet(collection, out var rule)
            || _disabled.Contains(rule.Id)
            || member.Token is not { } token)
        {
            return null;
        }

        // The rule's text is part of the key: a rule changed in PocketBase (and read again) never reuses a stream
        // opened under the old one. Both are hashed (whole SHA-256: two classes must never share a key), because the
        // session's name reaches logs and the class key holds the members' field values.
        var ruleText = wildcard ? rule.ListRule : rule.ViewRule;
        var key = new SessionKey($"class:{member.Key.CollectionId}:{rule.Id}:{(wildcard ? "list" : "view")}:{Hash(ruleText ?? "")}", Hash(classKey));
        if (_streams.TryGetValue(key, out var stream))
        {
            return stream;
        }

        var session = new UserSession(key, token, member.ExpiresAt, _upstreams.Create, _fanout, _sessionOptions.MaxTopicsPerSession, 1, _timeProvider, _realtimeClient, _eventLogs.Create(key), _routeLinger);
        stream = new ClassStream(key, rule.Id, rule.Name, session, member);
        session.Tap = upstreamEvent => OnClassEvent(stream, upstreamEvent);
        session.Admits = Admitted;
        session.HoldEvents(_options.DeathHold);
        member.TokenChanged += stream.OnHolderToken;
        _streams.Add(key, stream);
        WatchHolder(member);
        Log.StreamOpened(_logger, rule.Name, wildcard ? "list" : "view", string.Join(", ", ruleClass.AuthFields));
        return stream;
    }

    /// <summary>
    /// Takes <paramref name="topic"/> of <paramref name="connection"/> off its class stream (unless that is
    /// <paramref name="except"/>); a connection with nothing left there leaves the stream. Under the lock.
    /// </summary>
    /// <returns>The holder changes or closes this started, to await outside the lock.</returns>
    private List<Task> Unplace(RelayConnection connection, string topic, ClassStream? except)
    {
        List<Task> started = [];
        if (!_placements.TryGetValue(connection, out var placements) || !placements.TryGetValue(topic, out var placement) || placement.Stream == except)
        {
            return started;
        }

        placements.Remove(topic);
        if (placements.Count == 0)
        {
            _placements.Remove(connection);
        }

        PublishTopics(connection, placements);

        var stream = placement.Stream;
        if (stream.Connections.TryGetValue(connection, out var owner))
        {
            StopShadows(owner, placement.Request.UpstreamTopic);
        }

        stream.Session.Unsubscribe(connection, topic);
        if (placements.Values.Any(other => other.Stream == stream))
        {
            return started;
        }

        stream.Connections.Remove(connection, out var member);
        stream.Session.RemoveConnection(connection);
        if (stream.Connections.Count == 0)
        {
            started.Add(CloseAsync(stream));
        }
        else if (member == stream.Holder && !stream.Connections.ContainsValue(member!))
        {
            started.Add(ChangeHolderAsync(stream, member!));
        }

        return started;
    }

    /// <summary>Closes an emptied stream; under the lock (the disposal runs after).</summary>
    private Task CloseAsync(ClassStream stream)
    {
        stream.Closed = true;
        _streams.Remove(stream.Key);
        stream.Holder.TokenChanged -= stream.OnHolderToken;
        UnwatchUnlessHolder(stream.Holder);
        Log.StreamClosed(_logger, stream.Collection);
        return stream.Session.DisposeAsync().AsTask();
    }

    private static string Hash(string text) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    private IEnumerable<System.Diagnostics.Metrics.Measurement<long>> MeasureStreams()
    {
        lock (_gate)
        {
            return [.. _streams.Values
                .GroupBy(static stream => stream.Collection, StringComparer.Ordinal)
                .Select(static group => new System.Diagnostics.Metrics.Measurement<long>(group.Count(), new KeyValuePair<string, object?>("collection", group.Key)))];
        }
    }

    private long Sum(bool shared)
    {
        lock (_gate)
        {
            return shared ? _streams.Values.Sum(static stream => (long)stream.Session.TopicCount) : 0;
        }
    }
}
