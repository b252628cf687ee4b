using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>Every log event of a Relay host, rendered with its structured values and exception, for assertions.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    /// <summary>
    /// The entries of a session's PocketBase stream (Relay's upstream and session logs, the realtime HTTP calls with their
    /// status and duration) and every warning, one line each with its time: what a failing test prints to say where a
    /// delivery stopped.
    /// </summary>
    public string RenderUpstream() => string.Join('\n', _entries
        .Where(static e => e.Level >= LogLevel.Warning
            || e.Category.StartsWith("Relay.Upstream", StringComparison.Ordinal)
            || e.Category.StartsWith("Relay.Sessions", StringComparison.Ordinal)
            || e.Category.StartsWith("System.Net.Http.HttpClient.Relay.PocketBase", StringComparison.Ordinal))
        .Select(static e => $"{e.Timestamp:HH:mm:ss.fff} {e.Level} {e.Category} [{e.EventId.Name ?? e.EventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)}] {e.Text}"));

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Text, DateTimeOffset Timestamp);

    private sealed class Logger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = formatter(state, exception);
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                text += " | " + string.Join("; ", values.Select(pair => $"{pair.Key}={pair.Value}"));
            }

            if (exception is not null)
            {
                text += " | " + exception;
            }

            entries.Enqueue(new LogEntry(category, logLevel, eventId, text, DateTimeOffset.UtcNow));
        }
    }
}
