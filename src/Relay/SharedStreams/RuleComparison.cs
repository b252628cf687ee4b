namespace Relay.SharedStreams;

/// <summary>One atom of a rule: <c>left operator right</c>, such as <c>@request.auth.role = "editor"</c>.</summary>
internal sealed record RuleComparison(RuleToken Left, string Operator, RuleToken Right)
{
    public override string ToString() => $"{Left} {Operator} {Right}";
}
