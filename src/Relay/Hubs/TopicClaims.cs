using Relay.Sessions;

namespace Relay.Hubs;

/// <summary>
/// Topics a session is about to hold. Between the moment a subscribe paid for a new topic and the moment it is applied
/// (its filter checked with PocketBase, its replay read ahead), other subscribes of the same topic in the same session
/// join that claim instead of paying again, and share its filter check. Without it a burst of reconnects to one new
/// topic (a deploy, a fresh instance) would each pay a guest's new-topic token and each ask PocketBase, since none of
/// them holds the topic yet. Joining costs what joining a held topic costs: nothing.
/// </summary>
internal sealed class TopicClaims
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(SessionKey Session, string Topic), TopicClaim> _claims = [];

    /// <summary>
    /// Joins the claim on <paramref name="upstreamTopic"/>, or makes it after <paramref name="pay"/> (which throws to
    /// refuse, leaving no claim). Dispose the claim once the subscription was applied or failed.
    /// </summary>
    public TopicClaim Join(SessionKey session, string upstreamTopic, Action pay)
    {
        lock (_gate)
        {
            // Paid under the lock (an in-memory limiter, no I/O): two first comers cannot both pay, nor one ride on a
            // claim whose payment is then refused.
            if (!_claims.TryGetValue((session, upstreamTopic), out var claim))
            {
                pay();
                claim = new TopicClaim(this, session, upstreamTopic);
                _claims.Add((session, upstreamTopic), claim);
            }

            claim.Holders++;
            return claim;
        }
    }

    /// <summary>Claims open now (for tests and diagnostics).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _claims.Count;
            }
        }
    }

    internal void Leave(TopicClaim claim)
    {
        lock (_gate)
        {
            if (--claim.Holders == 0)
            {
                _claims.Remove((claim.Session, claim.Topic));
            }
        }
    }
}
