using Relay.Sessions;

namespace Relay.Hubs;

/// <summary>One topic a session is about to hold (see <see cref="TopicClaims"/>), with the filter check its holders share.</summary>
internal sealed class TopicClaim(TopicClaims owner, SessionKey session, string topic) : IDisposable
{
    private readonly Lock _gate = new();
    private Lazy<Task>? _check;

    public SessionKey Session { get; } = session;

    public string Topic { get; } = topic;

    /// <summary>Subscribes holding this claim; written under the owner's lock only.</summary>
    internal int Holders { get; set; }

    /// <summary>The one filter check of this topic: started by the first holder that asks, awaited by every holder.</summary>
    public Task CheckOnce(Func<Task> check)
    {
        Lazy<Task> once;
        lock (_gate)
        {
            once = _check ??= new Lazy<Task>(check);
        }

        // Started outside the lock (the check takes the session's lock and does I/O); Lazy runs it exactly once.
        return once.Value;
    }

    /// <summary>Leaves the claim: once per <see cref="TopicClaims.Join"/> that returned it (holders share this object).</summary>
    public void Dispose() => owner.Leave(this);
}
