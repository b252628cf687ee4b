namespace Relay.SharedStreams;

/// <summary>
/// One token of a rule or filter. <see cref="Text"/> is an identifier, a function's name, a number as written, a quoted
/// text without its quotes (escaped quotes unescaped), an operator, or a group's inner text (parsed again on its own).
/// </summary>
internal readonly record struct RuleToken(RuleTokenKind Kind, string Text)
{
    public override string ToString() => Kind == RuleTokenKind.Text ? $"\"{Text}\"" : Text;
}
