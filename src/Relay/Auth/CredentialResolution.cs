namespace Relay.Auth;

/// <summary>
/// What an <see cref="ICredentialSource"/> found for a request: nothing (no credential, or no source), a token, refused
/// (the credential stands for no live session), or unavailable (PocketBase or the session store could not be asked:
/// neither valid nor invalid).
/// </summary>
internal readonly record struct CredentialResolution(string? Token, bool Refused, bool Unavailable = false);
