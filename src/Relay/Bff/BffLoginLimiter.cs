using Microsoft.Extensions.Options;
using Relay.ClientIp;

namespace Relay.Bff;

/// <summary>
/// Sign-in attempts per client address (a token bucket refilled evenly over a minute), so a password-guessing flood from
/// one address is answered 429 without reaching PocketBase. Addresses count as <see cref="ClientAddress.KeyOf"/> says,
/// like Relay's other per-client limits: an IPv6 client by its /64, or it could pick a fresh address per attempt.
/// </summary>
internal sealed class BffLoginLimiter : IDisposable
{
    private readonly AddressTokenBucket _limiter;

    public BffLoginLimiter(IOptions<BffOptions> options)
    {
        _limiter = new AddressTokenBucket(options.Value.LoginAttemptsPerMinute);
    }

    public bool TryAcquire(HttpContext context) => _limiter.TryTake(ClientAddress.Of(context), out _);

    public void Dispose() => _limiter.Dispose();
}
