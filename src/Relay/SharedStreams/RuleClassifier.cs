namespace Relay.SharedStreams;

/// <summary>
/// Decides, conservatively, whether every user with the same values of some auth fields sees the same records under a
/// PocketBase rule. A rule shares only when each of its atoms depends on the record alone or on the signed-in user's own
/// auth fields alone (compared with literals or with each other): then any boolean combination of them gives the same
/// answer to every user of a class, whatever the precedence. Everything else stays per user: atoms mixing record and
/// user (<c>owner = @request.auth.id</c>), <c>@collection</c>, the other <c>@request</c> values, macros (<c>@now</c>:
/// time-dependent), functions, modifiers other than <c>:lower</c>/<c>:isset</c> on auth fields, paths through the user's
/// relations, and anything not understood. <c>@request.auth.id</c> may only be compared with <c>""</c> or <c>null</c>
/// (signed in or not): any other use would single out users.
/// </summary>
internal static class RuleClassifier
{
    private const string AuthPrefix = "@request.auth.";

    /// <summary>A collection rule: <c>null</c> is superusers only, <c>""</c> is everyone, an expression is classified.</summary>
    public static RuleClass Classify(string? rule)
    {
        if (rule is null)
        {
            return RuleClass.SuperusersOnly;
        }

        if (rule.Length == 0)
        {
            return RuleClass.Everyone;
        }

        if (!RuleParser.TryParse(rule, out var atoms, out var error))
        {
            return RuleClass.PerUser($"not understood: {error}");
        }

        var fields = new List<string>();
        foreach (var atom in atoms)
        {
            if (ClassifyAtom(atom, fields) is { } reason)
            {
                return RuleClass.PerUser(reason);
            }
        }

        return RuleClass.Shared(fields);
    }

    /// <summary>
    /// Why a subscription's <c>filter</c> option would make the topic per user, or null when it reads the record alone.
    /// Stricter than for rules: PocketBase evaluates a filter without hidden fields and, for every path through a
    /// relation, with the related collection's list rule for the subscriber, so only the record's own fields and literals pass.
    /// </summary>
    public static string? FilterRefusal(string filter)
    {
        if (!RuleParser.TryParse(filter, out var atoms, out var error))
        {
            return $"the filter is not understood: {error}";
        }

        foreach (var atom in atoms)
        {
            foreach (var side in (ReadOnlySpan<RuleToken>)[atom.Left, atom.Right])
            {
                var refused = side.Kind switch
                {
                    RuleTokenKind.Function => true,
                    RuleTokenKind.Identifier => side.Text[0] is '@' or '#' || side.Text.Contains('.', StringComparison.Ordinal)
                        || side.Text.Contains("_via_", StringComparison.Ordinal),
                    _ => false,
                };
                if (refused)
                {
                    return $"the filter reads '{side.Text}', which is not the record's own field";
                }
            }
        }

        return null;
    }

    private static string? ClassifyAtom(RuleComparison atom, List<string> fields)
    {
        var (leftKind, leftField, leftModifier, leftRefusal) = Operand(atom.Left);
        var (rightKind, rightField, rightModifier, rightRefusal) = Operand(atom.Right);
        if ((leftRefusal ?? rightRefusal) is { } refusal)
        {
            return $"{refusal} in '{atom}'";
        }

        if ((leftKind, rightKind) is (RuleOperandKind.AuthField, RuleOperandKind.Record) or (RuleOperandKind.Record, RuleOperandKind.AuthField))
        {
            return $"'{atom}' compares the record with the signed-in user";
        }

        if ((leftField == "id" && !IsSignedInTest(leftModifier, atom.Operator, atom.Right))
            || (rightField == "id" && !IsSignedInTest(rightModifier, atom.Operator, atom.Left)))
        {
            return $"'{atom}' uses @request.auth.id for more than signed in or not";
        }

        foreach (var field in (ReadOnlySpan<string?>)[leftField, rightField])
        {
            if (field is not null)
            {
                fields.Add(field);
            }
        }

        return null;
    }

    /// <summary><c>@request.auth.id = ""</c>, <c>!= ""</c> or the same with <c>null</c>: true for exactly the guests, or exactly the signed-in.</summary>
    private static bool IsSignedInTest(string? modifier, string op, RuleToken other)
        => modifier is null && op is "=" or "!="
            && ((other.Kind == RuleTokenKind.Text && other.Text.Length == 0)
                || (other.Kind == RuleTokenKind.Identifier && other.Text.Equals("null", StringComparison.OrdinalIgnoreCase)));

    private static (RuleOperandKind Kind, string? AuthField, string? Modifier, string? Refusal) Operand(RuleToken token)
    {
        if (token.Kind == RuleTokenKind.Function)
        {
            return Refused($"the function {token.Text}() is not classified");
        }

        if (token.Kind != RuleTokenKind.Identifier)
        {
            return (RuleOperandKind.Constant, null, null, null);
        }

        var identifier = token.Text;
        if (identifier.StartsWith(AuthPrefix, StringComparison.Ordinal))
        {
            var parts = identifier[AuthPrefix.Length..].Split(':');
            var field = parts[0];
            if (field.Length == 0 || !field.All(static c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return Refused($"{identifier} reads more than one field of the user's own record");
            }

            var modifier = parts.Length == 2 ? parts[1] : null;
            return parts.Length > 2 || modifier is not (null or "lower" or "isset")
                ? Refused($"{identifier} applies a modifier whose value is not the field's")
                : (RuleOperandKind.AuthField, field, modifier, null);
        }

        return identifier[0] switch
        {
            '@' when identifier.StartsWith("@request.", StringComparison.Ordinal) => Refused($"{identifier} differs per request"),
            '@' when identifier.StartsWith("@collection.", StringComparison.Ordinal) => Refused($"{identifier} reads another collection"),
            '@' => Refused($"{identifier} is a macro (time-dependent) or unknown"),
            '#' => Refused($"{identifier} is unknown"),
            _ when IsKeyword(identifier) => (RuleOperandKind.Constant, null, null, null),
            _ => (RuleOperandKind.Record, null, null, null),
        };
    }

    /// <summary>PocketBase takes these as literals, whatever their case, unless the collection has a field of the name (then: the record).</summary>
    private static bool IsKeyword(string identifier)
        => identifier.Equals("true", StringComparison.OrdinalIgnoreCase)
            || identifier.Equals("false", StringComparison.OrdinalIgnoreCase)
            || identifier.Equals("null", StringComparison.OrdinalIgnoreCase);

    private static (RuleOperandKind, string?, string?, string?) Refused(string reason) => (RuleOperandKind.Refused, null, null, reason);
}
