
namespace Relay.Upstream;

internal sealed partial class UpstreamConnection
{
    // Event ids are part of the operational contract: never renumber them.
    private static partial class Log
    {
        [LoggerMessage(1001, LogLevel.Debug, "Upstream stream for {Session} connected as PocketBase client {ClientId}.")]
        public static partial void Connected(ILogger logger, string session, string clientId);

        [LoggerMessage(1002, LogLevel.Warning, "Upstream connect for {Session} failed; retrying in {RetryDelay}.")]
        public static partial void ConnectFailed(ILogger logger, string session, TimeSpan retryDelay, Exception exception);

        [LoggerMessage(1003, LogLevel.Information, "Upstream stream for {Session} ended ({Reason}); reconnecting.")]
        public static partial void StreamEnded(ILogger logger, string session, string reason);

        [LoggerMessage(1004, LogLevel.Warning, "Upstream stream for {Session} failed; reconnecting.")]
        public static partial void StreamFailed(ILogger logger, string session, Exception exception);

        [LoggerMessage(1005, LogLevel.Information, "Upstream stream for {Session} re-established as PocketBase client {ClientId}; connections are told to resync.")]
        public static partial void Resubscribed(ILogger logger, string session, string clientId);

        [LoggerMessage(1006, LogLevel.Warning, "Posting subscriptions for {Session} failed; re-establishing the stream.")]
        public static partial void SyncFailed(ILogger logger, string session, Exception exception);

        [LoggerMessage(1007, LogLevel.Warning, "Upstream stream for {Session} sent an unexpected message (event {EventType}); skipped.")]
        public static partial void UnexpectedMessage(ILogger logger, string session, string eventType);

        [LoggerMessage(1008, LogLevel.Error, "Upstream loop for {Session} failed unexpectedly; restarting.")]
        public static partial void LoopFailed(ILogger logger, string session, Exception exception);

        [LoggerMessage(1009, LogLevel.Debug, "Upstream stream for {Session} rotated ({Reason}): PocketBase client {OldClientId} replaced by {ClientId} without a gap.")]
        public static partial void Rotated(ILogger logger, string session, string reason, string oldClientId, string clientId);

        [LoggerMessage(1010, LogLevel.Warning, "Rotating the upstream stream for {Session} ({Reason}) failed; the current stream is kept and rotation retried.")]
        public static partial void RotationFailed(ILogger logger, string session, string reason, Exception exception);

        [LoggerMessage(1011, LogLevel.Information, "PocketBase refused {Count} topic(s) of {Session} with {StatusCode}; they were dropped, the stream and other topics kept.")]
        public static partial void TopicsRefused(ILogger logger, string session, int count, int statusCode);

        [LoggerMessage(1012, LogLevel.Error, "Delivering an upstream event of {Session} failed; delivery continues.")]
        public static partial void DeliveryFailed(ILogger logger, string session, Exception exception);

        [LoggerMessage(1013, LogLevel.Warning, "Upstream stream for {Session} was cut before its rotation: its replacement received {Missed} event(s) it never did; connections are told to resync.")]
        public static partial void RetiredStreamWasCut(ILogger logger, string session, int missed);
    }
}
