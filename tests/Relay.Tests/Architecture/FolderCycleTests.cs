using Xunit.Abstractions;

namespace Relay.Tests.Architecture;

/// <summary>
/// The server reads in one direction: no first-level folder of <c>src/Relay</c> names a type of a folder that (through
/// others) names one of its own. A failure names each offending file, the type it names and that type's folder.
/// </summary>
public sealed class FolderCycleTests(ITestOutputHelper output)
{
    [Fact]
    public void Server_HasNoFolderCycle()
    {
        var graph = FolderGraph.Load(SourceTree.Server);
        output.WriteLine(graph.ToString());
        var onCycle = graph.CycleEdges();

        Assert.True(onCycle.Count == 0,
            $"Folder cycle(s) {string.Join("; ", Cycles(graph))}. Make one of these dependencies point the other way (a seam: "
            + $"an interface declared below, implemented above), or move the type (docs/architecture.md):{Environment.NewLine}{graph.Describe(onCycle)}");
    }

    [Fact]
    public void Fixture_WithCycle_IsReportedWithItsFiles()
    {
        var graph = FolderGraph.FromSources(
        [
            ("Upstream/Stream.cs", "namespace X.Upstream;\ninternal sealed class Stream(Session owner) { private static class Log { } }"),
            ("Sessions/Session.cs", "namespace X.Sessions;\ninternal sealed class Session { public Stream? Stream; }"),
            ("Sessions/Key.cs", "namespace X.Sessions;\ninternal readonly record struct Key(string Id);"),
            ("Hubs/Hub.cs", "namespace X.Hubs;\ninternal sealed class Hub(Session session, Key key) { }"),
            ("Program.cs", "var hub = new Hub(new Session(), new Key(\"\"));"),
        ]);

        Assert.Equal(new[] { "Sessions ⇄ Upstream" }, Cycles(graph));
        Assert.Equal(new[] { "Sessions → Upstream", "Upstream → Sessions" }, graph.CycleEdges().Select(Name));
        var described = graph.Describe(graph.CycleEdges());
        Assert.Contains("Upstream/Stream.cs → Session → Sessions", described, StringComparison.Ordinal);
        Assert.Contains("Sessions/Session.cs → Stream → Upstream", described, StringComparison.Ordinal);
        Assert.DoesNotContain("Hubs", described, StringComparison.Ordinal);
        Assert.Equal(new[] { "Hubs/Hub.cs → Session → Sessions", "Hubs/Hub.cs → Key → Sessions" }, graph.Edges[("Hubs", "Sessions")].Select(static r => r.ToString()));
    }

    [Fact]
    public void Fixture_NamesInCommentsAndStrings_AreNoEdge()
    {
        var graph = FolderGraph.FromSources(
        [
            ("Upstream/Stream.cs", "namespace X.Upstream;\n/// <see cref=\"Session\"/>\ninternal sealed class Stream\n{\n    // a Session owns it\n    private const string A = \"Session\", B = @\"Session \"\" Session\", C = \"\"\"\n    Session\n    \"\"\";\n    private const char D = '\"';\n    /* Session */\n}"),
            ("Sessions/Session.cs", "namespace X.Sessions;\ninternal sealed class Session { public Stream? Stream; }"),
        ]);

        Assert.Empty(graph.Cycles());
        Assert.Equal(new[] { "Sessions → Upstream" }, graph.Edges.Keys.Select(Name));
    }

    [Fact]
    public void Fixture_HolesOfInterpolatedStrings_AreCode()
    {
        var graph = FolderGraph.FromSources(
        [
            ("Upstream/Stream.cs", "namespace X.Upstream;\ninternal sealed class Stream { public override string ToString() => $\"{{not}} {Session.Name}\"; }"),
            ("Sessions/Session.cs", "namespace X.Sessions;\ninternal sealed class Session { public const string Name = \"s\"; public Stream? Stream; }"),
        ]);

        Assert.Equal(new[] { "Sessions ⇄ Upstream" }, Cycles(graph));
    }

    [Fact]
    public void Fixture_TypeDeclaredInTwoFolders_GivesNoEdge()
    {
        var graph = FolderGraph.FromSources(
        [
            ("Upstream/Options.cs", "namespace X.Upstream;\ninternal sealed class Options;"),
            ("Sessions/Options.cs", "namespace X.Sessions;\ninternal sealed class Options { Options Copy() => this; }"),
        ]);

        Assert.Empty(graph.Edges);
    }

    private static string Name((string From, string To) edge) => $"{edge.From} → {edge.To}";

    private static IEnumerable<string> Cycles(FolderGraph graph) => graph.Cycles().Select(static cycle => string.Join(" ⇄ ", cycle));
}
