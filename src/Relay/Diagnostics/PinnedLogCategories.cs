using Serilog;
using Serilog.Events;

namespace Relay.Diagnostics;

/// <summary>
/// Log categories that would write secrets below a certain level, held at that level whatever the configuration says.
/// SignalR's hub dispatcher logs every invocation with its arguments at Debug (<c>Reauthenticate</c>'s argument is a
/// token) and hosting logs request URLs with the <c>?access_token=</c> browsers must send. A configured minimum-level
/// override cannot lower these: a filter runs after the levels, and it matches every category below each prefix, so
/// a more specific override (<c>Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher: Verbose</c>) is caught too.
/// </summary>
internal static class PinnedLogCategories
{
    private static readonly (string Prefix, LogEventLevel Minimum)[] Pins =
    [
        ("Microsoft.AspNetCore.Hosting.Diagnostics", LogEventLevel.Warning),
        ("Microsoft.AspNetCore.SignalR", LogEventLevel.Information),
        ("Microsoft.AspNetCore.Http.Connections", LogEventLevel.Information),
    ];

    /// <remarks>
    /// A filter only, no minimum-level override: an override would replace a stricter level the operator configured for
    /// the same category (Warning would become Information).
    /// </remarks>
    public static LoggerConfiguration PinSensitiveCategories(this LoggerConfiguration logger) => logger.Filter.ByExcluding(IsBelowPin);

    public static bool IsBelowPin(LogEvent logEvent)
    {
        if (logEvent.Level >= LogEventLevel.Warning
            || !logEvent.Properties.TryGetValue(Serilog.Core.Constants.SourceContextPropertyName, out var value)
            || value is not ScalarValue { Value: string category })
        {
            return false;
        }

        foreach (var (prefix, minimum) in Pins)
        {
            if (logEvent.Level < minimum && category.StartsWith(prefix, StringComparison.Ordinal)
                && (category.Length == prefix.Length || category[prefix.Length] == '.'))
            {
                return true;
            }
        }

        return false;
    }
}
