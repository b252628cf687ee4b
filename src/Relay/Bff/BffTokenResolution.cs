namespace Relay.Bff;

/// <summary>A session cookie's token for the hub: none (no cookie, or BFF mode off), a token, or refused.</summary>
internal readonly record struct BffTokenResolution(string? Token, bool Refused);
