using Serilog;
using Serilog.Formatting.Compact;

namespace Relay.Hosting;

/// <summary>
/// The console sink by <c>Serilog:ConsoleFormat</c>: <c>text</c> (default, for people), <c>json</c> (compact JSON, one
/// event per line, for containers and log stores; the Docker image sets it) or <c>none</c>.
/// </summary>
internal static class ConsoleLogging
{
    private const string TextTemplate = "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    public static LoggerConfiguration WriteToConsole(this LoggerConfiguration logger, string? format) => format?.ToLowerInvariant() switch
    {
        null or "" or "text" => logger.WriteTo.Console(outputTemplate: TextTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture),
        "json" => logger.WriteTo.Console(new RenderedCompactJsonFormatter()),
        "none" => logger,
        _ => throw new InvalidOperationException($"Serilog:ConsoleFormat must be text, json or none; '{format}' is not."),
    };
}
