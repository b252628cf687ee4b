namespace Relay.IntegrationTests.Infrastructure;

internal static class BffSettings
{
    /// <summary>BFF mode with Data Protection keys of its own (one folder per host, as one deployment would have).</summary>
    public static Dictionary<string, string?> Enabled(string? keysDirectory = null) => new()
    {
        ["Relay:Bff:Enabled"] = "true",
        ["Relay:Bff:KeysDirectory"] = keysDirectory ?? Path.Combine(Path.GetTempPath(), "relay-bff-keys-" + Guid.NewGuid().ToString("N")),
    };
}
