using System.Text;

namespace Relay.SharedStreams;

/// <summary>
/// Splits a PocketBase rule or filter into tokens the way PocketBase's own scanner does (github.com/ganigeorgiev/fexpr:
/// v0.4.1 in PocketBase 0.22, v0.6 in 0.40; both have <c>//</c> comments, only the latter functions, which PocketBase
/// takes from 0.27). Mirroring it rule for rule matters: an atom this scanner saw differently from PocketBase could be
/// classified as something it is not. Whitespace is only space, tab and newline, as there; anything else is an error,
/// and an error makes a rule per user.
/// </summary>
internal sealed class RuleScanner(string text)
{
    /// <summary>fexpr's bound on nested function calls.</summary>
    private const int MaxFunctionDepth = 3;

    private int _position;

    /// <summary>The next token, skipping whitespace and comments; <see cref="RuleTokenKind.End"/> at the end.</summary>
    public RuleToken Next()
    {
        while (_position < text.Length)
        {
            var ch = text[_position];
            if (IsWhitespace(ch))
            {
                _position++;
            }
            else if (ch == '/')
            {
                SkipComment();
            }
            else if (ch == '(')
            {
                return ScanGroup();
            }
            else if (IsIdentifierStart(ch))
            {
                return ScanIdentifier(MaxFunctionDepth);
            }
            else if (IsNumberStart(ch))
            {
                return ScanNumber();
            }
            else if (IsQuote(ch))
            {
                return new RuleToken(RuleTokenKind.Text, ScanText());
            }
            else if (IsSign(ch))
            {
                return ScanRun(RuleTokenKind.Sign, IsSign, static op => op is "=" or "!=" or "~" or "!~" or "<" or "<=" or ">" or ">="
                    or "?=" or "?!=" or "?~" or "?!~" or "?<" or "?<=" or "?>" or "?>=");
            }
            else if (ch is '&' or '|')
            {
                return ScanRun(RuleTokenKind.Join, static c => c is '&' or '|', static op => op is "&&" or "||");
            }
            else
            {
                throw new RuleSyntaxException($"unexpected character '{ch}' at {_position}");
            }
        }

        return new RuleToken(RuleTokenKind.End, string.Empty);
    }

    private RuleToken ScanRun(RuleTokenKind kind, Func<char, bool> member, Func<string, bool> valid)
    {
        var start = _position;
        while (_position < text.Length && member(text[_position]))
        {
            _position++;
        }

        var run = text[start.._position];
        return valid(run) ? new RuleToken(kind, run) : throw new RuleSyntaxException($"invalid operator '{run}'");
    }

    private void SkipComment()
    {
        if (_position + 1 >= text.Length || text[_position + 1] != '/')
        {
            throw new RuleSyntaxException("invalid comment (a single '/')");
        }

        while (_position < text.Length && text[_position] != '\n')
        {
            _position++;
        }
    }

    private RuleToken ScanNumber()
    {
        var start = _position;
        var hadDot = false;
        while (_position < text.Length)
        {
            var ch = text[_position];
            if (!char.IsAsciiDigit(ch) && (ch != '-' || _position != start) && (ch != '.' || hadDot))
            {
                break;
            }

            hadDot |= ch == '.';
            _position++;
        }

        var number = text[start.._position];
        return number == "-" || number[0] == '.' || number[^1] == '.'
            ? throw new RuleSyntaxException($"invalid number '{number}'")
            : new RuleToken(RuleTokenKind.Number, number);
    }

    /// <summary>A quoted text: ends at the first matching quote not preceded by a backslash; only <c>\</c>+quote is unescaped.</summary>
    private string ScanText()
    {
        var quote = text[_position++];
        var value = new StringBuilder();
        var previous = '\0';
        while (_position < text.Length)
        {
            var ch = text[_position++];
            if (ch == quote && previous != '\\')
            {
                var unescaped = new string(quote, 1);
                return value.Replace("\\" + unescaped, unescaped).ToString();
            }

            value.Append(ch);
            previous = ch;
        }

        throw new RuleSyntaxException("unterminated quoted text");
    }

    /// <summary>
    /// A parenthesised group, as fexpr scans it: brackets are counted and quoted texts skipped whole (a bracket inside
    /// quotes does not count; a comment does not hide one). Its inner text is parsed again as a rule of its own.
    /// </summary>
    private RuleToken ScanGroup()
    {
        var start = ++_position;
        var open = 1;
        while (_position < text.Length)
        {
            var ch = text[_position];
            if (IsQuote(ch))
            {
                ScanText();
                continue;
            }

            _position++;
            open += ch switch { '(' => 1, ')' => -1, _ => 0 };
            if (open == 0)
            {
                return new RuleToken(RuleTokenKind.Group, text[start..(_position - 1)]);
            }
        }

        throw new RuleSyntaxException($"a group misses {open} closing bracket(s)");
    }

    private RuleToken ScanIdentifier(int functionDepth)
    {
        var start = _position++;
        while (_position < text.Length)
        {
            var ch = text[_position];
            if (ch == '(')
            {
                var name = text[start.._position];
                if (functionDepth <= 0 || !IsValidIdentifier(name))
                {
                    throw new RuleSyntaxException($"invalid function '{name}'");
                }

                SkipFunctionArguments(name, functionDepth);
                return new RuleToken(RuleTokenKind.Function, name);
            }

            if (!char.IsAsciiLetterOrDigit(ch) && ch is not ('.' or ':' or '_'))
            {
                break;
            }

            _position++;
        }

        var identifier = text[start.._position];
        return IsValidIdentifier(identifier) ? new RuleToken(RuleTokenKind.Identifier, identifier) : throw new RuleSyntaxException($"invalid identifier '{identifier}'");
    }

    /// <summary>Checks a call's arguments as fexpr does; they are not kept, as a rule with a function is never shared.</summary>
    private void SkipFunctionArguments(string name, int functionDepth)
    {
        _position++;
        var expectComma = false;
        while (_position < text.Length)
        {
            var ch = text[_position];
            if (ch == ')')
            {
                _position++;
                return;
            }

            if (IsWhitespace(ch))
            {
                _position++;
                continue;
            }

            if (ch == '/')
            {
                SkipComment();
                continue;
            }

            if ((ch == ',') != expectComma)
            {
                throw new RuleSyntaxException($"misplaced comma in function '{name}'");
            }

            if (ch == ',')
            {
                _position++;
                expectComma = false;
                continue;
            }

            if (IsIdentifierStart(ch))
            {
                ScanIdentifier(functionDepth - 1);
            }
            else if (IsNumberStart(ch))
            {
                ScanNumber();
            }
            else if (IsQuote(ch))
            {
                ScanText();
            }
            else
            {
                throw new RuleSyntaxException($"unsupported argument character '{ch}' in function '{name}'");
            }

            expectComma = true;
        }

        throw new RuleSyntaxException($"function '{name}' misses its ')'");
    }

    private static bool IsWhitespace(char ch) => ch is ' ' or '\t' or '\n';

    private static bool IsQuote(char ch) => ch is '\'' or '"';

    private static bool IsNumberStart(char ch) => ch == '-' || char.IsAsciiDigit(ch);

    private static bool IsSign(char ch) => ch is '=' or '?' or '!' or '>' or '<' or '~';

    private static bool IsIdentifierStart(char ch) => char.IsAsciiLetter(ch) || ch is '@' or '_' or '#';

    private static bool IsValidIdentifier(string identifier)
        => identifier[^1] is not ('.' or ':') && (identifier.Length != 1 || !(identifier[0] is '@' or '_' or '#'));
}
