namespace Relay.Client.Protocol;

/// <summary>The record actions PocketBase reports, as they appear in <see cref="RelayEvent.Action"/>.</summary>
public static class RelayActions
{
    /// <summary>A record was created.</summary>
    public const string Create = "create";

    /// <summary>A record was updated.</summary>
    public const string Update = "update";

    /// <summary>A record was deleted.</summary>
    public const string Delete = "delete";
}
