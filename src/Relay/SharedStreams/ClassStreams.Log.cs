namespace Relay.SharedStreams;

internal sealed partial class ClassStreams
{
    private static partial class Log
    {
        [LoggerMessage(11020, LogLevel.Information, "Opened a class stream for {Collection} ({Rule} rule), a class by the auth fields [{Fields}] (the members' values are not logged).")]
        public static partial void StreamOpened(ILogger logger, string collection, string rule, string fields);

        [LoggerMessage(11021, LogLevel.Information, "Closed a class stream for {Collection}: its last member connection left.")]
        public static partial void StreamClosed(ILogger logger, string collection);

        [LoggerMessage(11022, LogLevel.Information, "A class stream for {Collection} moves to another member's token: its holder left (without a gap when it left as a member, else with a Resync).")]
        public static partial void HolderChanged(ILogger logger, string collection);

        [LoggerMessage(11023, LogLevel.Information, "Member {Session}'s class changed (its own record, a rule, or sharing switched off): {Topics} shared topics move to their new class (or per user).")]
        public static partial void MemberMoved(ILogger logger, string session, int topics);

        [LoggerMessage(11024, LogLevel.Warning, "Member {Session}'s own auth record could not be watched or read ({Error}); its topics stay per user.")]
        public static partial void MemberUnknown(ILogger logger, string session, string error);

        [LoggerMessage(11025, LogLevel.Warning, "Moving a topic of member {Session} to its new class failed ({Code}); that connection no longer holds the topic (its Resync tells the client to refetch).")]
        public static partial void MoveFailed(ILogger logger, string session, string code);

        [LoggerMessage(11026, LogLevel.Error, "Shadow verification: {Collection}'s class stream and member {Session}'s own stream disagree on {Count} events (first: {First}); sharing is off for this collection until Relay restarts, its members go back to their own streams.")]
        public static partial void ShadowDisagreement(ILogger logger, string collection, string session, int count, string first);

        [LoggerMessage(11030, LogLevel.Information, "Member {Session}'s token is dead or could not be verified (its auth record was deleted or changed): it leaves every class stream; its own stream serves it.")]
        public static partial void MemberDismissed(ILogger logger, string session);

        [LoggerMessage(11031, LogLevel.Warning, "The own auth record of member {Session}, a class stream's holder, could not be watched on its own stream ({Code}); a change of its class is seen on the superuser's watch instead, once verified.")]
        public static partial void HolderWatchFailed(ILogger logger, string session, string code);

        [LoggerMessage(11032, LogLevel.Information, "Member {Session}'s token could not be verified ({Error}): PocketBase gave no verdict; the member stays fenced (no class events) and is asked again.")]
        public static partial void MemberCheckDeferred(ILogger logger, string session, string error);

        [LoggerMessage(11035, LogLevel.Information, "After a gap on the superuser's watch, {Members} members of one auth collection were read in {Lists} superuser lists: {Unchanged} unchanged (kept without a call), {Deleted} gone (dismissed), {Asked} verified one by one.")]
        public static partial void MembersReadAfterGap(ILogger logger, int members, int lists, int unchanged, int deleted, int asked);

        [LoggerMessage(11036, LogLevel.Warning, "After a gap on the superuser's watch, the members of auth collection {Collection} could not be read together ({Error}); each is asked on its own.")]
        public static partial void MembersNotReadAfterGap(ILogger logger, string collection, string error);

        [LoggerMessage(11027, LogLevel.Debug, "Shadow verification could not start for member {Session} ({Error}); the sample is topped up again at a later tick.")]
        public static partial void ShadowNotStarted(ILogger logger, string session, string error);
    }
}
