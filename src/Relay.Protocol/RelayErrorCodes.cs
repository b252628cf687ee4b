namespace Relay.Client.Protocol;

/// <summary>
/// Stable error codes. A refused hub call throws a <c>HubException</c> whose message starts with one of these
/// codes followed by <c>": "</c> and a human-readable explanation.
/// </summary>
public static class RelayErrorCodes
{
    /// <summary>The topic is not <c>COLLECTION/*</c> or <c>COLLECTION/RECORD_ID</c> in PocketBase syntax.</summary>
    public const string InvalidTopic = "invalid_topic";

    /// <summary>The subscription options are malformed or too large.</summary>
    public const string InvalidOptions = "invalid_options";

    /// <summary>The topic's collection is not in <c>Relay:AllowedCollections</c>.</summary>
    public const string TopicNotAllowed = "topic_not_allowed";

    /// <summary>The connection already holds <c>Relay:MaxSubscriptionsPerConnection</c> subscriptions.</summary>
    public const string TooManySubscriptions = "too_many_subscriptions";

    /// <summary><c>Reauthenticate</c> was given a token PocketBase does not accept (malformed, forged, expired, revoked).</summary>
    public const string InvalidToken = "invalid_token";

    /// <summary><c>Reauthenticate</c> was given a token of another user, or called on a guest connection.</summary>
    public const string TokenUserMismatch = "token_user_mismatch";

    /// <summary>The connection made more hub calls per second than <c>Relay:HubCallsPerSecond</c> allows; retry later.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>The user already holds <c>Relay:MaxConnectionsPerUser</c> connections; sent as the close reason of the new one.</summary>
    public const string TooManyConnections = "too_many_connections";

    /// <summary>PocketBase could not be reached or did not accept the subscription in time; the call may be retried.</summary>
    public const string UpstreamUnavailable = "upstream_unavailable";

    /// <summary>PocketBase refused this one subscription (a filter it rejects, an unknown collection, a rule that denies it); retrying will not help.</summary>
    public const string SubscriptionRefused = "subscription_refused";

    /// <summary>The call's arguments are malformed (for example a null or oversized <c>SubscribeMany</c> list).</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>Returns the code a <c>HubException</c> message starts with, or <see langword="null"/> when it carries none.</summary>
    /// <param name="message">The exception message.</param>
    public static string? FromMessage(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return null;
        }

        // SignalR prefixes server-side HubException messages with this text on the client.
        const string ServerPrefix = "An unexpected error occurred invoking '";
        var start = 0;
        if (message.StartsWith(ServerPrefix, StringComparison.Ordinal))
        {
            var marker = message.IndexOf("HubException: ", StringComparison.Ordinal);
            start = marker < 0 ? message.Length : marker + "HubException: ".Length;
        }

        var colon = message.IndexOf(':', start);
        return colon <= start ? null : message[start..colon];
    }
}
