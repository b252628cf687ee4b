using System.Text.Json;

namespace Relay.IntegrationTests.SharedStreams;

/// <summary>How the soak names an event, the same for the direct stream and Relay's.</summary>
internal static class IsolationSoakEvents
{
    /// <summary>
    /// Creates and updates by record, <c>seq</c> (the writer's operation index) and <c>updated</c> (PocketBase's own
    /// updates, such as a relation cleared when a user is deleted, keep the seq but not the time); a delete by record
    /// (each is deleted once).
    /// </summary>
    public static string Key(string action, JsonElement record)
    {
        var id = record.GetProperty("id").GetString();
        if (action == "delete")
        {
            return $"delete|{id}";
        }

        var seq = record.TryGetProperty("seq", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : -1;
        var updated = record.TryGetProperty("updated", out var u) ? u.GetString() : null;
        return $"{action}|{id}|{seq}|{updated}";
    }
}
