using Relay.Client.Protocol;
using Relay.Routing;

namespace Relay.SharedStreams;

/// <summary>A connection's topic held on a class stream, with what is needed to classify and subscribe it again on a move.</summary>
internal sealed record ClassPlacement(ClassStream Stream, TopicSubscription Request, string Collection, bool Wildcard, SubscriptionOptions? Options);
