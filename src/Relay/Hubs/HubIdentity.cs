using System.Security.Cryptography;
using System.Text;
using Relay.Auth;

namespace Relay.Hubs;

/// <summary>
/// Who a hub request speaks for, reduced to a SHA-256 fingerprint: the BFF session (cookie), the verified user (token:
/// a refreshed token of the same user is the same identity, another user's token is not), or the guests. Computed from
/// what authentication already resolved, so it costs one hash of a short string and no call to anyone.
/// </summary>
internal readonly record struct HubIdentity(byte[] Fingerprint, bool ByCookie)
{
    public static HubIdentity Of(HttpContext context)
    {
        if (context.Items.TryGetValue(CredentialItems.SessionIdKey, out var value) && value is string sessionId)
        {
            return new HubIdentity(Hash("session\n" + sessionId), ByCookie: true);
        }

        return context.User.Identity is PocketBaseIdentity { IsGuest: false } user
            ? new HubIdentity(Hash("user\n" + user.CollectionId + "\n" + user.RecordId), ByCookie: false)
            : new HubIdentity(Hash("guest"), ByCookie: false);
    }

    public bool SameAs(HubIdentity other) => ByCookie == other.ByCookie && CryptographicOperations.FixedTimeEquals(Fingerprint, other.Fingerprint);

    private static byte[] Hash(string subject) => SHA256.HashData(Encoding.UTF8.GetBytes(subject));
}
