using System.Text.RegularExpressions;

namespace Relay.Tests.Architecture;

/// <summary>
/// Event ids are what operators alert on: no two <c>[LoggerMessage]</c> of the server share one, and
/// <c>docs/logging.md</c>, the operators' list, names exactly the ids the code writes.
/// </summary>
public sealed partial class LogEventIdTests
{
    [Fact]
    public void EveryEventId_IsUsedOnce()
    {
        var duplicates = ServerEventIds().GroupBy(static id => id.Id).Where(static group => group.Count() > 1)
            .Select(static group => $"{group.Key}: {string.Join(", ", group.Select(static id => id.File))}").ToList();

        Assert.True(duplicates.Count == 0, $"Event ids used more than once:{Environment.NewLine}{string.Join(Environment.NewLine, duplicates)}");
    }

    [Fact]
    public void OperatorsList_NamesEveryEventIdOfTheCode()
    {
        var documented = DocumentedRow().Matches(File.ReadAllText(Path.Combine(SourceTree.RepositoryRoot, "docs", "logging.md")))
            .Select(static match => int.Parse(match.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        var code = ServerEventIds().ToList();

        var missing = code.Where(id => !documented.Contains(id.Id)).Select(static id => $"{id.Id} ({id.File})").ToList();
        var stale = documented.Except(code.Select(static id => id.Id)).Order().ToList();
        Assert.True(missing.Count == 0, $"docs/logging.md lacks: {string.Join(", ", missing)}");
        Assert.True(stale.Count == 0, $"docs/logging.md lists ids no code writes: {string.Join(", ", stale)}");
    }

    [Fact]
    public void Reader_FindsIdsInEitherAttributeForm()
    {
        const string Source = """
            [LoggerMessage(1001, LogLevel.Debug, "a")]
            [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "b")]
            [LoggerMessage(
                1003, LogLevel.Debug, "c")]
            """;

        Assert.Equal(new[] { 1001, 1002, 1003 }, EventIds(Source));
    }

    private static IEnumerable<(int Id, string File)> ServerEventIds()
        => Directory.EnumerateFiles(SourceTree.Server, "*.cs", SearchOption.AllDirectories)
            .Where(static path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(static path => EventIds(File.ReadAllText(path)).Select(id => (id, Path.GetRelativePath(SourceTree.Server, path))));

    private static IEnumerable<int> EventIds(string source)
        => LoggerMessage().Matches(source).Select(static match => int.Parse(match.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex(@"\[LoggerMessage\(\s*(?:EventId\s*=\s*)?(?<id>\d+)")]
    private static partial Regex LoggerMessage();

    [GeneratedRegex(@"^\| (?<id>\d+) \|", RegexOptions.Multiline)]
    private static partial Regex DocumentedRow();
}
