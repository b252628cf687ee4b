namespace Relay.Tests.Architecture;

/// <summary>
/// The server reads in one direction: no first-level folder of <c>src/Relay</c> names a type of a folder that (through
/// others) names one of its own. A failure names each offending file, the type it names and that type's folder.
/// </summary>
public sealed class FolderCycleTests
{
    /// <summary>
    /// Edges that were on a cycle when this check was written, to be cut one by one. The list only shrinks: an edge
    /// that is no longer on a cycle must leave it (the test says so), and an edge not on it fails the build.
    /// </summary>
    private static readonly HashSet<string> KnownCycleEdges =
    [
        "Auth → Bff", "Auth → Diagnostics", "Auth → Upstream",
        "Bff → Auth", "Bff → Diagnostics", "Bff → Fanout", "Bff → Hubs", "Bff → Upstream",
        "Cluster → Diagnostics", "Cluster → Sessions", "Cluster → Upstream",
        "Diagnostics → Auth", "Diagnostics → Hubs", "Diagnostics → Sessions", "Diagnostics → Upstream",
        "Fanout → Diagnostics", "Fanout → Sessions",
        "Hubs → Auth", "Hubs → Bff", "Hubs → Diagnostics", "Hubs → Fanout", "Hubs → Sessions", "Hubs → Upstream",
        "Sessions → Auth", "Sessions → Cluster", "Sessions → Diagnostics", "Sessions → Fanout", "Sessions → Upstream",
        "Upstream → Diagnostics",
    ];

    [Fact]
    public void Server_HasNoFolderCycle()
    {
        var graph = FolderGraph.Load(SourceTree.Server);
        var onCycle = graph.CycleEdges();

        var added = onCycle.Where(static edge => !KnownCycleEdges.Contains(Name(edge))).ToList();
        Assert.True(added.Count == 0,
            $"Folder cycle(s) {string.Join("; ", graph.Cycles().Select(static cycle => string.Join(" ⇄ ", cycle)))}. "
            + $"New edges on a cycle (make the dependency point the other way, or move the type):{Environment.NewLine}{graph.Describe(added)}");

        var cut = KnownCycleEdges.Except(onCycle.Select(Name)).Order(StringComparer.Ordinal).ToList();
        Assert.True(cut.Count == 0, $"No longer on a cycle, remove from {nameof(KnownCycleEdges)}: {string.Join(", ", cut)}");
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
