namespace Relay.SharedStreams;

/// <summary>
/// Parses a PocketBase rule or filter (<c>a = 1 &amp;&amp; (b ?~ "x" || @request.auth.id != "")</c>) into its atoms, with
/// the grammar of PocketBase's parser (fexpr): <c>operand operator operand</c> joined by <c>&amp;&amp;</c> or
/// <c>||</c>, groups in brackets. The atoms are all the classifier needs: whether a rule shares does not depend on how
/// they are combined. Where fexpr is lenient in ways no one writes on purpose (a group where an operand or a join is
/// expected, which fexpr takes while silently dropping the half-read atom before it), this parser refuses, and a refused
/// rule stays per user.
/// </summary>
internal static class RuleParser
{
    /// <summary>Deepest nesting of groups accepted; filters come from clients, and each level scans its text again.</summary>
    public const int MaxDepth = 16;

    /// <summary>The atoms of <paramref name="text"/>, or false with <paramref name="error"/> saying why it is not understood.</summary>
    public static bool TryParse(string text, out IReadOnlyList<RuleComparison> comparisons, out string error)
    {
        var atoms = new List<RuleComparison>();
        try
        {
            Parse(text, atoms, depth: 0);
            comparisons = atoms;
            error = string.Empty;
            return true;
        }
        catch (RuleSyntaxException ex)
        {
            comparisons = [];
            error = ex.Message;
            return false;
        }
    }

    private static void Parse(string text, List<RuleComparison> atoms, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new RuleSyntaxException($"groups nested deeper than {MaxDepth}");
        }

        var scanner = new RuleScanner(text);
        var before = atoms.Count;
        var expectOperand = true;
        RuleToken? left = null;
        string? op = null;
        while (scanner.Next() is { Kind: not RuleTokenKind.End } token)
        {
            if (expectOperand && left is null && token.Kind == RuleTokenKind.Group)
            {
                Parse(token.Text, atoms, depth + 1);
                expectOperand = false;
            }
            else if (expectOperand && left is null)
            {
                left = Operand(token, "left");
            }
            else if (expectOperand && op is null)
            {
                op = token.Kind == RuleTokenKind.Sign ? token.Text : throw new RuleSyntaxException($"expected an operator, got '{token.Text}'");
            }
            else if (expectOperand)
            {
                atoms.Add(new RuleComparison(left!.Value, op!, Operand(token, "right")));
                (left, op, expectOperand) = (null, null, false);
            }
            else
            {
                expectOperand = token.Kind == RuleTokenKind.Join ? true : throw new RuleSyntaxException($"expected && or ||, got '{token.Text}'");
            }
        }

        if (expectOperand)
        {
            throw new RuleSyntaxException(left is null && atoms.Count == before ? "empty expression" : "incomplete expression");
        }
    }

    private static RuleToken Operand(RuleToken token, string side)
        => token.Kind is RuleTokenKind.Identifier or RuleTokenKind.Text or RuleTokenKind.Number or RuleTokenKind.Function
            ? token
            : throw new RuleSyntaxException($"expected a {side} operand (identifier, function, text or number), got '{token.Text}'");
}
