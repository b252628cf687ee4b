using Relay.Client.Protocol;

namespace Relay.SharedStreams;

/// <summary>
/// Classifies one subscription: its collection's rule (the list rule for <c>COLLECTION/*</c>, the view rule for
/// <c>COLLECTION/RECORD_ID</c>, as PocketBase checks them) together with the subscription's options. A topic shares only
/// when both do; records of auth collections never share (PocketBase shows a user's email to that user, and to managers).
/// </summary>
internal static class TopicClassifier
{
    public static RuleClass Classify(CollectionRuleSet rules, string collection, bool wildcard, SubscriptionOptions? options)
    {
        if (!rules.TryGet(collection, out var entry))
        {
            return RuleClass.PerUser("the collection's rules are not known (no superuser credentials, not read yet, or no such collection)");
        }

        if (entry.IsAuth)
        {
            return RuleClass.PerUser("records of auth collections differ per viewer (email visibility)");
        }

        var ruleClass = wildcard ? entry.ListClass : entry.ViewClass;
        return ruleClass.IsShared && OptionsRefusal(options) is { } refusal ? RuleClass.PerUser(refusal) : ruleClass;
    }

    /// <summary>
    /// Why a subscription's options make it per user, or null. PocketBase evaluates rules and filters with the options'
    /// query and headers as <c>@request.query</c>/<c>@request.headers</c>, and expands relations with the subscriber's
    /// rights; only <c>fields</c> and a filter on the record's own fields are the same for everyone.
    /// </summary>
    public static string? OptionsRefusal(SubscriptionOptions? options)
    {
        if (options is null)
        {
            return null;
        }

        if (options.Headers is { Count: > 0 })
        {
            return "the subscription carries headers (PocketBase evaluates them as @request.headers)";
        }

        foreach (var (key, value) in options.Query ?? new Dictionary<string, string>())
        {
            var refusal = key switch
            {
                _ when string.IsNullOrEmpty(value) => null,
                "fields" => null,
                "filter" => RuleClassifier.FilterRefusal(value),
                "expand" => "expand reads related records with the subscriber's own rights",
                _ => $"the query option '{key}' is not known to be the same for everyone",
            };
            if (refusal is not null)
            {
                return refusal;
            }
        }

        return null;
    }
}
