namespace Relay.PocketBase;

/// <summary>One provider from PocketBase's auth-methods: the state and PKCE verifier it generated and the provider's authorization URL.</summary>
internal sealed record OAuth2Provider(string Name, string State, string CodeVerifier, string AuthUrl);
