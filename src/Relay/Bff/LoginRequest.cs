namespace Relay.Bff;

/// <summary>The body of <c>POST /bff/login</c>.</summary>
internal sealed record LoginRequest(string? Identity, string? Password, string? Collection);
