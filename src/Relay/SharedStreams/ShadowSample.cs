using Relay.Sessions;

namespace Relay.SharedStreams;

/// <summary>One sampled member's topic, held on its own stream too and compared with the class stream's copy.</summary>
internal sealed record ShadowSample(UserSession Member, string UpstreamTopic, ClassStream Stream, ShadowComparer Comparer);
