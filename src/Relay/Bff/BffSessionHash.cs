using System.Security.Cryptography;
using System.Text;

namespace Relay.Bff;

/// <summary>
/// The name a session is stored and announced under: the SHA-256 of its id. Ids are 256 random bits, so the hash cannot
/// be turned back into an id, and someone who reads the session store learns nothing a forged cookie could carry.
/// </summary>
internal static class BffSessionHash
{
    public static string Of(string sessionId) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sessionId)));
}
