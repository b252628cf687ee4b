using System.Text;
using System.Text.RegularExpressions;

namespace Relay.Tests.Architecture;

/// <summary>
/// Which first-level folder of a source tree names which other's types: an edge A → B for every file in A that names a
/// type declared (at the top level) in B. Read from the text, not compiled: comments and string literals are blanked
/// out, then every identifier that is the name of a type declared in exactly one other folder counts. Over-counting
/// (a member that happens to share a type's name) shows up as an edge naming its file and type, easy to check; a
/// compiler-free reader keeps the check fast and free of the project's references. Files at the root (the composition
/// root: <c>Program.cs</c>, <c>AddRelay</c>, <c>MapRelay</c>, the top-level options) point nowhere; the types they
/// declare are a sink that no cycle can pass through.
/// </summary>
internal sealed partial class FolderGraph
{
    public const string Root = "(root)";

    private FolderGraph(IReadOnlyDictionary<(string From, string To), IReadOnlyList<Reference>> edges) => Edges = edges;

    /// <summary>Every edge, with the files and type names behind it.</summary>
    public IReadOnlyDictionary<(string From, string To), IReadOnlyList<Reference>> Edges { get; }

    /// <summary>Reads every <c>.cs</c> file under <paramref name="directory"/> (bin and obj aside).</summary>
    public static FolderGraph Load(string directory)
        => FromSources(Directory.EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(directory, path).Replace('\\', '/'))
            .Where(static path => !path.Contains("/bin/", StringComparison.Ordinal) && !path.Contains("/obj/", StringComparison.Ordinal)
                && !path.StartsWith("bin/", StringComparison.Ordinal) && !path.StartsWith("obj/", StringComparison.Ordinal))
            .Select(path => (path, File.ReadAllText(Path.Combine(directory, path)))));

    /// <summary>Builds the graph from (path relative to the tree's root with '/' separators, source text) pairs.</summary>
    public static FolderGraph FromSources(IEnumerable<(string Path, string Text)> sources)
    {
        var files = sources.Select(static source => (source.Path, Folder: FolderOf(source.Path), Code: Blank(source.Text))).ToList();

        var declaredIn = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (_, folder, code) in files)
        {
            foreach (var type in TopLevelTypes(code))
            {
                if (!declaredIn.TryGetValue(type, out var folders))
                {
                    declaredIn[type] = folders = [];
                }

                folders.Add(folder);
            }
        }

        // A name declared in two folders cannot be told apart without compiling; it gives no edge.
        var owner = declaredIn.Where(static pair => pair.Value.Count == 1).ToDictionary(static pair => pair.Key, static pair => pair.Value.Single(), StringComparer.Ordinal);
        var edges = new Dictionary<(string, string), List<Reference>>();
        foreach (var (path, folder, code) in files.OrderBy(static file => file.Path, StringComparer.Ordinal))
        {
            if (folder == Root)
            {
                continue;
            }

            var named = new HashSet<string>(StringComparer.Ordinal);
            foreach (Match match in Identifier().Matches(code))
            {
                var name = match.Value;
                if (owner.TryGetValue(name, out var target) && target != folder && named.Add(name))
                {
                    if (!edges.TryGetValue((folder, target), out var references))
                    {
                        edges[(folder, target)] = references = [];
                    }

                    references.Add(new Reference(path, name, target));
                }
            }
        }

        return new FolderGraph(edges.ToDictionary(static pair => pair.Key, static pair => (IReadOnlyList<Reference>)pair.Value));
    }

    /// <summary>The strongly connected components of more than one folder (each a cycle), folders sorted.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var nodes = Edges.Keys.SelectMany(static edge => new[] { edge.From, edge.To }).Distinct().Order(StringComparer.Ordinal).ToList();
        var next = nodes.ToDictionary(static node => node, node => Edges.Keys.Where(edge => edge.From == node).Select(static edge => edge.To).Order(StringComparer.Ordinal).ToList());
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var components = new List<IReadOnlyList<string>>();

        // Tarjan's algorithm; the graph has a dozen nodes, so recursion depth is no concern.
        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            onStack.Add(node);
            foreach (var target in next[node])
            {
                if (!index.TryGetValue(target, out var targetIndex))
                {
                    Visit(target);
                    low[node] = Math.Min(low[node], low[target]);
                }
                else if (onStack.Contains(target))
                {
                    low[node] = Math.Min(low[node], targetIndex);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);

                if (component.Count > 1)
                {
                    components.Add([.. component.Order(StringComparer.Ordinal)]);
                }
            }
        }

        foreach (var node in nodes.Where(node => !index.ContainsKey(node)))
        {
            Visit(node);
        }

        return [.. components.OrderBy(static component => component[0], StringComparer.Ordinal)];
    }

    /// <summary>The edges that lie on a cycle (both ends in one strongly connected component).</summary>
    public IReadOnlyList<(string From, string To)> CycleEdges()
    {
        var componentOf = Cycles().SelectMany(static (component, i) => component.Select(folder => (folder, i))).ToDictionary(static pair => pair.folder, static pair => pair.i);
        return [.. Edges.Keys
            .Where(edge => componentOf.TryGetValue(edge.From, out var from) && componentOf.TryGetValue(edge.To, out var to) && from == to)
            .OrderBy(static edge => edge.From, StringComparer.Ordinal).ThenBy(static edge => edge.To, StringComparer.Ordinal)];
    }

    /// <summary>One line per edge and one per reference behind it: "A → B" then "  A/File.cs → Type → B".</summary>
    public string Describe(IEnumerable<(string From, string To)> edges)
    {
        var text = new StringBuilder();
        foreach (var edge in edges)
        {
            text.Append(edge.From).Append(" → ").Append(edge.To).AppendLine();
            foreach (var reference in Edges[edge])
            {
                text.Append("    ").Append(reference).AppendLine();
            }
        }

        return text.ToString();
    }

    /// <summary>Every edge as "A → B (n files)", for a report of the whole graph.</summary>
    public override string ToString()
        => string.Join(Environment.NewLine, Edges.OrderBy(static edge => edge.Key.From, StringComparer.Ordinal).ThenBy(static edge => edge.Key.To, StringComparer.Ordinal)
            .Select(static edge => $"{edge.Key.From} → {edge.Key.To} ({edge.Value.Select(static reference => reference.File).Distinct().Count()} files)"));

    private static string FolderOf(string path)
    {
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? Root : path[..slash];
    }

    /// <summary>Names of the types declared at brace depth 0 (file-scoped namespaces), nested types left out.</summary>
    private static IEnumerable<string> TopLevelTypes(string code)
    {
        var depth = 0;
        foreach (Match token in DeclarationOrBrace().Matches(code))
        {
            switch (token.Value)
            {
                case "{":
                    depth++;
                    break;
                case "}":
                    depth--;
                    break;
                default:
                    if (depth == 0)
                    {
                        yield return token.Groups["name"].Value;
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// The code with comments, strings and character literals replaced by spaces (line structure kept); the holes of an
    /// interpolated string (<c>$"{Type.Member}"</c>) stay, since they name types like any other code.
    /// </summary>
    private static string Blank(string source)
    {
        var code = new StringBuilder(source.Length);
        var i = 0;
        while (i < source.Length)
        {
            var (end, interpolated) = LiteralOrCommentEnd(source, i);
            if (end == i)
            {
                code.Append(source[i++]);
                continue;
            }

            var depth = 0;
            for (; i < end; i++)
            {
                var c = source[i];
                if (interpolated && depth == 0 && c == '{' && i + 1 < end && source[i + 1] == '{')
                {
                    code.Append("  ");
                    i++;
                    continue;
                }

                depth += interpolated && c == '{' ? 1 : 0;
                code.Append(depth > 0 ? c : c == '\n' ? '\n' : ' ');
                depth -= interpolated && c == '}' && depth > 0 ? 1 : 0;
            }
        }

        return code.ToString();
    }

    /// <summary>
    /// Where the comment or literal starting at <paramref name="i"/> ends (<paramref name="i"/> itself when none starts
    /// there), and whether it is an interpolated string with single-brace holes.
    /// </summary>
    private static (int End, bool Interpolated) LiteralOrCommentEnd(string s, int i)
    {
        if (s.AsSpan(i).StartsWith("//"))
        {
            var newline = s.IndexOf('\n', i);
            return (newline < 0 ? s.Length : newline, false);
        }

        if (s.AsSpan(i).StartsWith("/*"))
        {
            var close = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
            return (close < 0 ? s.Length : close + 2, false);
        }

        if (s[i] == '\'')
        {
            for (var k = i + 1; k < s.Length; k++)
            {
                if (s[k] == '\\')
                {
                    k++;
                }
                else if (s[k] == '\'')
                {
                    return (k + 1, false);
                }
            }

            return (s.Length, false);
        }

        // Prefixes: $ (several for raw interpolated strings) and @, in either order; not part of an identifier.
        if (i > 0 && (char.IsLetterOrDigit(s[i - 1]) || s[i - 1] == '_'))
        {
            return (i, false);
        }

        var j = i;
        var dollars = 0;
        var verbatim = false;
        while (j < s.Length && (s[j] == '$' || s[j] == '@'))
        {
            dollars += s[j] == '$' ? 1 : 0;
            verbatim |= s[j] == '@';
            j++;
        }

        if (j >= s.Length || s[j] != '"')
        {
            return (i, false);
        }

        if (s.AsSpan(j).StartsWith("\"\"\""))
        {
            // Raw string: closed by as many quotes as opened it (its holes, rare here, are blanked with it).
            var quotes = 0;
            while (j + quotes < s.Length && s[j + quotes] == '"')
            {
                quotes++;
            }

            var close = s.IndexOf(new string('"', quotes), j + quotes, StringComparison.Ordinal);
            return (close < 0 ? s.Length : close + quotes, false);
        }

        for (var k = j + 1; k < s.Length; k++)
        {
            if (verbatim && s[k] == '"' && k + 1 < s.Length && s[k + 1] == '"')
            {
                k++;
            }
            else if (!verbatim && s[k] == '\\')
            {
                k++;
            }
            else if (s[k] == '"')
            {
                return (k + 1, dollars == 1);
            }
        }

        return (s.Length, dollars == 1);
    }

    [GeneratedRegex(@"(?<![\w@])[A-Za-z_]\w*")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"[{}]|\b(?:class|struct|interface|enum|record|delegate\s+[\w<>\[\]?,. ]+?)\s+(?:class\s+|struct\s+)?(?<name>[A-Za-z_]\w*)")]
    private static partial Regex DeclarationOrBrace();

    /// <summary>A file of one folder naming a type of another.</summary>
    public sealed record Reference(string File, string Type, string Folder)
    {
        public override string ToString() => $"{File} → {Type} → {Folder}";
    }
}
