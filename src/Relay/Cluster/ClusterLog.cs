namespace Relay.Cluster;

/// <summary>The log messages of cluster mode (event ids 9001-9099), shared by the owners of a session stream's state.</summary>
internal static partial class ClusterLog
{
    [LoggerMessage(9001, LogLevel.Information, "Cluster: this instance now owns {Stream}'s PocketBase stream (takeover after a loss: {Takeover}).")]
    public static partial void Owning(ILogger logger, string stream, bool takeover);

    [LoggerMessage(9002, LogLevel.Warning, "Cluster: lease on {Stream} lost; its PocketBase stream is closed here.")]
    public static partial void LeaseLost(ILogger logger, string stream);

    [LoggerMessage(9003, LogLevel.Information, "Cluster: opening {Stream}'s stream as the successor of an owner shutting down.")]
    public static partial void Succeeding(ILogger logger, string stream);

    [LoggerMessage(9004, LogLevel.Warning, "Cluster: succession on {Stream} abandoned (the owner did not let go in time).")]
    public static partial void SuccessionAbandoned(ILogger logger, string stream);

    [LoggerMessage(9005, LogLevel.Warning, "Cluster: the successor stream for {Stream} failed ({Error}).")]
    public static partial void SuccessionFailed(ILogger logger, string stream, string error);

    [LoggerMessage(9006, LogLevel.Information, "Cluster: {Stream} handed over to another instance (make before break).")]
    public static partial void HandedOver(ILogger logger, string stream);

    [LoggerMessage(9007, LogLevel.Warning, "Cluster: no instance took {Stream} over in time; letting it go (followers will resync).")]
    public static partial void HandoverTimedOut(ILogger logger, string stream);

    [LoggerMessage(9008, LogLevel.Debug, "Cluster: confirming {Stream}'s topics failed ({Error}).")]
    public static partial void ConfirmFailed(ILogger logger, string stream, string error);

    [LoggerMessage(9009, LogLevel.Warning, "Cluster: Redis failed for {Stream} ({Error}).")]
    public static partial void RedisFailed(ILogger logger, string stream, string error);

    [LoggerMessage(9010, LogLevel.Warning, "Cluster: Redis unreachable; {Stream} runs its own PocketBase stream on this instance.")]
    public static partial void GoingAlone(ILogger logger, string stream);

    [LoggerMessage(9011, LogLevel.Information, "Cluster: Redis is back; {Stream} rejoins the cluster once its topics are held.")]
    public static partial void Returning(ILogger logger, string stream);

    [LoggerMessage(9012, LogLevel.Information, "Cluster: {Stream} follows the cluster's stream again.")]
    public static partial void Rejoined(ILogger logger, string stream);

    [LoggerMessage(9013, LogLevel.Error, "Cluster: the loop of {Stream} failed.")]
    public static partial void LoopFailed(ILogger logger, string stream, Exception exception);

    [LoggerMessage(9014, LogLevel.Warning, "Cluster: {Stream}'s Redis Stream was deleted and created again while this instance started to follow it; its connections resync.")]
    public static partial void StreamReplaced(ILogger logger, string stream);

    [LoggerMessage(9015, LogLevel.Information, "Cluster: succession on {Stream} given up (this instance is stopping); another instance may succeed.")]
    public static partial void SuccessionWithdrawn(ILogger logger, string stream);

    [LoggerMessage(9016, LogLevel.Information, "Cluster: the successor for {Stream} gave up before the handover; waiting for another.")]
    public static partial void SuccessorWithdrew(ILogger logger, string stream);

    [LoggerMessage(9017, LogLevel.Warning, "Cluster: the owner of {Stream} went without handing it over; this successor takes it over (its followers resync).")]
    public static partial void SuccessionOwnerGone(ILogger logger, string stream);
}
