namespace Relay.SharedStreams;

internal sealed partial class CollectionRules
{
    internal static partial class Log
    {
        [LoggerMessage(11001, LogLevel.Information, "Read the rules of {Collections} PocketBase collections; {Shareable} have a list rule that shared streams could serve.")]
        public static partial void Read(ILogger logger, int collections, int shareable);

        [LoggerMessage(11002, LogLevel.Debug, "Read the rules of {Collections} PocketBase collections again; unchanged.")]
        public static partial void Unchanged(ILogger logger, int collections);

        [LoggerMessage(11003, LogLevel.Debug, "Collection {Collection}: list rule {ListClass}; view rule {ViewClass}.")]
        public static partial void Classified(ILogger logger, string collection, string listClass, string viewClass);

        [LoggerMessage(11004, LogLevel.Warning, "Reading PocketBase's collection rules failed (status {Status}, 0: no answer); nothing is shared once the last rules read are older than {MaxAge}.")]
        public static partial void ReadFailed(ILogger logger, int status, TimeSpan maxAge, Exception exception);

        [LoggerMessage(11005, LogLevel.Warning, "Relay:SharedStreams:Enabled is on but Relay:PocketBase:SuperuserEmail and Relay:PocketBase:SuperuserPassword are not set: collection rules cannot be read, so nothing is shared.")]
        public static partial void NoCredentials(ILogger logger);

        [LoggerMessage(11006, LogLevel.Warning, "Relay:SharedStreams:Enabled is on in cluster mode (Relay:Redis:Configuration): class streams are not supported there, every user keeps a stream of their own.")]
        public static partial void ClusterMode(ILogger logger);

        [LoggerMessage(11033, LogLevel.Warning, "PocketBase does not run Relay's hook (deploy/pocketbase/pb_hooks/relay.pb.js; GET /api/relay/hooks answered 404): PocketBase 0.23+ announces a user's deletion only after every update that deletion makes, and until then class streams keep sending the class's events to the deleted user's connections. Install the hook in PocketBase's pb_hooks folder.")]
        public static partial void DeathsHookMissing(ILogger logger);

        [LoggerMessage(11034, LogLevel.Information, "PocketBase now runs Relay's hook: deletions are announced before they happen.")]
        public static partial void DeathsHookFound(ILogger logger);
    }
}
