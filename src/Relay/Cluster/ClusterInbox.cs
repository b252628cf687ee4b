using System.Threading.Channels;

namespace Relay.Cluster;

/// <summary>
/// The inbox of a session stream's loop, the one way other threads (sessions, Redis notifications, the tasks that wait
/// for PocketBase beside the loop) reach the state the loop owns. Signals are coalesced into one bit set and at most one
/// wake-up in the channel, so a burst of notifications costs one pass; commands with a payload are rare (a failed
/// confirmation, a handover) and queued in order, unbounded: a bounded channel dropped a command silently when full.
/// </summary>
internal sealed class ClusterInbox
{
    private readonly Channel<ClusterCommand> _commands = Channel.CreateUnbounded<ClusterCommand>(new UnboundedChannelOptions { SingleReader = true });

    private int _signals;
    private int _woken;

    /// <summary>Sets <paramref name="signals"/> and wakes the loop (never blocks).</summary>
    public void Signal(ClusterSignals signals)
    {
        Interlocked.Or(ref _signals, (int)signals);
        if (Interlocked.Exchange(ref _woken, 1) == 0)
        {
            _commands.Writer.TryWrite(new ClusterCommand(ClusterCommandKind.Wake));
        }
    }

    /// <summary>Queues <paramref name="command"/>; false once the loop has stopped.</summary>
    public bool Post(ClusterCommand command) => _commands.Writer.TryWrite(command);

    /// <summary>
    /// Waits until something is signalled or posted (true) or <paramref name="timeout"/> passes (false).
    /// </summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken stopping)
    {
        try
        {
            return await _commands.Reader.WaitToReadAsync(stopping).AsTask().WaitAsync(timeout, timeProvider, stopping);
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// Takes the queued commands (into <paramref name="commands"/>, wake-ups skipped) and then the signals set since the
    /// last call: the loop's, at the start of a pass.
    /// </summary>
    public ClusterSignals TakeAll(List<ClusterCommand> commands)
    {
        while (_commands.Reader.TryRead(out var command))
        {
            if (command.Kind != ClusterCommandKind.Wake)
            {
                commands.Add(command);
            }
        }

        // Cleared after the wake-ups are drained and before the bits are taken: a signal set from here on queues a new
        // wake-up (the next pass), one set before is in the bits taken now.
        Volatile.Write(ref _woken, 0);
        return (ClusterSignals)Interlocked.Exchange(ref _signals, 0);
    }

    /// <summary>The loop has stopped: nothing more is queued.</summary>
    public void Complete() => _commands.Writer.TryComplete();
}
