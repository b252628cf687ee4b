using System.Threading.Channels;
using Relay.Upstream;

namespace Relay.Tests.Upstream;

internal sealed class FakeSubscriber(string? token, params string[] topics) : IUpstreamSubscriber
{
    private long _version = 1;

    public string[] Topics { get; set; } = topics;

    public string Name => "test";

    public string? Token { get; } = token;

    public Channel<UpstreamEvent> Events { get; } = Channel.CreateUnbounded<UpstreamEvent>();

    public int Resubscribed;

    public List<string> Refused { get; } = [];

    public void SetTopics(params string[] next)
    {
        Topics = next;
        Interlocked.Increment(ref _version);
    }

    public long Version => Interlocked.Read(ref _version);

    public TopicSnapshot GetTopics() => new(Topics, Version);

    public ValueTask OnEventAsync(UpstreamEvent upstreamEvent)
    {
        Events.Writer.TryWrite(upstreamEvent);
        return default;
    }

    public void OnTopicsRefused(IReadOnlyList<string> upstreamTopics)
    {
        lock (Refused)
        {
            Refused.AddRange(upstreamTopics);
        }

        SetTopics([.. Topics.Except(upstreamTopics)]);
    }

    public ValueTask OnResubscribedAsync()
    {
        Interlocked.Increment(ref Resubscribed);
        return default;
    }
}
