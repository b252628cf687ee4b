namespace Relay.Bff;

/// <summary>
/// A session cookie's token for the hub: none (no cookie, or BFF mode off), a token, refused (the cookie stands for no
/// live session), or unavailable (PocketBase or the session store could not be asked: neither valid nor invalid).
/// </summary>
internal readonly record struct BffTokenResolution(string? Token, bool Refused, bool Unavailable = false);
