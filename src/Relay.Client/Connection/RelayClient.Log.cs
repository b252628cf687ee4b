using Microsoft.Extensions.Logging;

namespace Relay.Client;

public sealed partial class RelayClient
{
    // Event ids are fixed: never renumber them, only add. 2 (a topic refused again after a reconnect) is retired:
    // such topics are now retried (6) or reported as refused for good (7).
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "A handler for {Topic} failed on {Action}.")]
        public static partial void HandlerFailed(ILogger logger, string topic, string action, Exception exception);

        [LoggerMessage(3, LogLevel.Debug, "Unsubscribing {Topic} failed.")]
        public static partial void UnsubscribeFailed(ILogger logger, string topic, Exception exception);

        [LoggerMessage(4, LogLevel.Error, "A {Callback} callback failed.")]
        public static partial void CallbackFailed(ILogger logger, string callback, Exception exception);

        [LoggerMessage(5, LogLevel.Debug, "Subscribing was cut off by the connection; the next connection sends the topics again.")]
        public static partial void RestoreInterrupted(ILogger logger, Exception exception);

        [LoggerMessage(6, LogLevel.Debug, "Relay refused {Count} topics for now ({Code}); retrying them in {Delay}.")]
        public static partial void SubscribeRetrying(ILogger logger, int count, string code, TimeSpan delay);

        [LoggerMessage(7, LogLevel.Warning, "Relay refused {Topic} for good ({Code}); its handlers are dropped and SubscriptionFailed is raised.")]
        public static partial void SubscriptionRefused(ILogger logger, string topic, string code);

        [LoggerMessage(8, LogLevel.Information, "Relay does not know SubscribeMany (protocol version 1); subscribing one topic per call on this connection.")]
        public static partial void Version1Relay(ILogger logger);

        [LoggerMessage(9, LogLevel.Debug, "Connecting to Relay failed (attempt {Attempt}); trying again in {Delay}.")]
        public static partial void StartFailed(ILogger logger, int attempt, TimeSpan delay, Exception exception);

        [LoggerMessage(10, LogLevel.Error, "The subscription pump failed; new subscriptions start it again.")]
        public static partial void PumpFailed(ILogger logger, Exception exception);
    }
}
