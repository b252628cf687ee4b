using Microsoft.Extensions.Logging;

namespace Relay.Client;

public sealed partial class RelayClient
{
    // Event ids are fixed: never renumber them, only add.
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "A handler for {Topic} failed on {Action}.")]
        public static partial void HandlerFailed(ILogger logger, string topic, string action, Exception exception);

        [LoggerMessage(2, LogLevel.Warning, "Relay refused {Topic} again after a reconnect ({Code}); its handlers receive nothing until a later connection accepts it.")]
        public static partial void ResubscribeFailed(ILogger logger, string topic, string code, Exception exception);

        [LoggerMessage(3, LogLevel.Debug, "Unsubscribing {Topic} failed.")]
        public static partial void UnsubscribeFailed(ILogger logger, string topic, Exception exception);

        [LoggerMessage(4, LogLevel.Error, "A {Callback} callback failed.")]
        public static partial void CallbackFailed(ILogger logger, string callback, Exception exception);

        [LoggerMessage(5, LogLevel.Debug, "Restoring the topics was cut off by the connection; the next connection restores them.")]
        public static partial void RestoreInterrupted(ILogger logger, Exception exception);
    }
}
