namespace Relay.Upstream;

/// <summary>A request to move a stream to another user's token (<see cref="IUpstream.ChangeHolderAsync"/>).</summary>
internal sealed class HolderChange(string token, Action commit)
{
    public string Token { get; } = token;

    /// <summary>Run when the new stream becomes current, under the POST gate.</summary>
    public Action Commit { get; } = commit;

    /// <summary>True once the new stream is current; false when it could not be set up, or the request was withdrawn.</summary>
    public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
