using Relay.SharedStreams;

namespace Relay.Tests.SharedStreams;

/// <summary>The grammar of PocketBase's rules and filters (fexpr), as 0.22 and 0.23+ write them.</summary>
public sealed class RuleParserTests
{
    [Fact]
    public void TryParse_Comparison_SplitsOperandsAndOperator()
    {
        var atom = Assert.Single(Parse("@request.auth.role = \"editor\""));

        Assert.Equal(new RuleToken(RuleTokenKind.Identifier, "@request.auth.role"), atom.Left);
        Assert.Equal("=", atom.Operator);
        Assert.Equal(new RuleToken(RuleTokenKind.Text, "editor"), atom.Right);
    }

    [Theory]
    [InlineData("=")]
    [InlineData("!=")]
    [InlineData(">")]
    [InlineData(">=")]
    [InlineData("<")]
    [InlineData("<=")]
    [InlineData("~")]
    [InlineData("!~")]
    [InlineData("?=")]
    [InlineData("?!=")]
    [InlineData("?>")]
    [InlineData("?>=")]
    [InlineData("?<")]
    [InlineData("?<=")]
    [InlineData("?~")]
    [InlineData("?!~")]
    public void TryParse_EveryOperator_Accepted(string op)
        => Assert.Equal(op, Assert.Single(Parse($"tags {op} 'x'")).Operator);

    [Fact]
    public void TryParse_JoinsAndGroups_CollectsEveryAtom()
    {
        var atoms = Parse("(a = 1 || (b != 'x' && c > -2.5)) && d ?= true");

        Assert.Equal(new[] { "a", "b", "c", "d" }, atoms.Select(atom => atom.Left.Text));
        Assert.Equal(new RuleToken(RuleTokenKind.Number, "-2.5"), atoms[2].Right);
        Assert.Equal(new RuleToken(RuleTokenKind.Identifier, "true"), atoms[3].Right);
    }

    [Theory]
    [InlineData("title = \"say \\\"hi\\\"\"", "say \"hi\"")]
    [InlineData("title = 'it\\'s'", "it's")]
    [InlineData("title = 'a \"quoted\" word'", "a \"quoted\" word")]
    [InlineData("title = \"(not a group) && x = 1\"", "(not a group) && x = 1")]
    [InlineData("title = \"// not a comment\"", "// not a comment")]
    public void TryParse_QuotedText_UnquotedAsPocketBaseDoes(string rule, string text)
        => Assert.Equal(new RuleToken(RuleTokenKind.Text, text), Assert.Single(Parse(rule)).Right);

    [Fact]
    public void TryParse_BracketsInsideQuotesInGroup_DoNotCount()
        => Assert.Equal(2, Parse("(title = \")(\" || b = 1)").Count);

    [Fact]
    public void TryParse_Comments_Skipped()
    {
        var atoms = Parse("// only editors\n@request.auth.role = \"editor\" // the role\n\t&& status = 'published'");

        Assert.Equal(new[] { "@request.auth.role", "status" }, atoms.Select(atom => atom.Left.Text));
    }

    [Fact]
    public void TryParse_Modifiers_PartOfTheIdentifier()
        => Assert.Equal("@request.auth.role:lower", Assert.Single(Parse("@request.auth.role:lower = 'editor'")).Left.Text);

    [Fact]
    public void TryParse_Function_KeptAsAFunctionToken()
    {
        var atom = Assert.Single(Parse("geoDistance(lon, lat, 23.5, strftime('%Y', created)) < 25"));

        Assert.Equal(new RuleToken(RuleTokenKind.Function, "geoDistance"), atom.Left);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("// only a comment")]
    [InlineData("status")]
    [InlineData("status =")]
    [InlineData("status \"x\"")]
    [InlineData("a = 1 &&")]
    [InlineData("a = 1 & b = 2")]
    [InlineData("a = 1 ||| b = 2")]
    [InlineData("a == 1")]
    [InlineData("a =! 1")]
    [InlineData("(a = 1")]
    [InlineData("a = 1)")]
    [InlineData("a = \"unterminated")]
    [InlineData("a = 1 / 2")]
    [InlineData("a = 1.")]
    [InlineData("a = .5")]
    [InlineData("a = -")]
    [InlineData("a. = 1")]
    [InlineData("@ = 1")]
    [InlineData("()")]
    [InlineData("a = 1 && ()")]
    [InlineData("a = (b = 1)")]
    [InlineData("a = 1 (b = 2)")]
    [InlineData("a = 1\r\n")]
    [InlineData("a = $x")]
    [InlineData("f(a b) = 1")]
    [InlineData("f(a = 1")]
    public void TryParse_NotPocketBaseGrammar_Refused(string rule)
    {
        Assert.False(RuleParser.TryParse(rule, out var atoms, out var error));
        Assert.Empty(atoms);
        Assert.NotEmpty(error);
    }

    [Fact]
    public void TryParse_TooDeeplyNested_Refused()
    {
        var rule = new string('(', RuleParser.MaxDepth + 1) + "a = 1" + new string(')', RuleParser.MaxDepth + 1);

        Assert.False(RuleParser.TryParse(rule, out _, out var error));
        Assert.Contains("deeper", error, StringComparison.Ordinal);
        Assert.True(RuleParser.TryParse(rule[1..^1], out _, out _));
    }

    private static IReadOnlyList<RuleComparison> Parse(string rule)
    {
        Assert.True(RuleParser.TryParse(rule, out var atoms, out var error), error);
        return atoms;
    }
}
