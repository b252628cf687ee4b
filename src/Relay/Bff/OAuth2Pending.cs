namespace Relay.Bff;

/// <summary>
/// An OAuth2 sign-in between leaving for the provider and coming back: PocketBase's state and PKCE verifier, kept in a
/// Data Protection cookie (never shown to the page) so the callback can prove it continues this browser's sign-in.
/// <see cref="PreviousSessionHash"/> names the browser's session when the sign-in started: the callback arrives from the
/// provider's site, without the SameSite=Strict session cookie, and must still end that session.
/// </summary>
internal sealed record OAuth2Pending(
    string Provider,
    string State,
    string CodeVerifier,
    string Collection,
    string RedirectUrl,
    string ReturnUrl,
    DateTimeOffset ExpiresAt,
    string? PreviousSessionHash = null);
