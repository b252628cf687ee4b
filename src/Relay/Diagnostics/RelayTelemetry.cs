using System.Diagnostics;

namespace Relay.Diagnostics;

/// <summary>Relay's traces (source <c>Relay</c>): a <c>relay.event</c> span per PocketBase event, covering its fan-out.</summary>
internal static class RelayTelemetry
{
    public const string SourceName = "Relay";

    public static readonly ActivitySource Source = new(SourceName);
}
