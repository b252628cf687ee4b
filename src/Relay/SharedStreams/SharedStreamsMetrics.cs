using System.Diagnostics.Metrics;
using Relay.Diagnostics;

namespace Relay.SharedStreams;

/// <summary>
/// Shared streams' instruments, in Relay's meter (<see cref="RelayMetrics.MeterName"/>; the meter factory hands out the
/// same meter). The rules' instruments report now; those for class streams, shadow verification and commit lag (#22
/// items 3–5) are declared so dashboards and the README can name them, and stay at zero until those parts exist.
/// </summary>
internal sealed class SharedStreamsMetrics
{
    private static readonly KeyValuePair<string, object?> Succeeded = new("result", "ok");
    private static readonly KeyValuePair<string, object?> Failed = new("result", "failed");

    private readonly Counter<long> _rulesReads;
    private Func<CollectionRuleSet>? _rules;

    public SharedStreamsMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(RelayMetrics.MeterName);
        _rulesReads = meter.CreateCounter<long>("relay.shared.rules.reads", "{read}", "Reads of PocketBase's collection rules with the superuser credentials, by result (ok, failed).");
        meter.CreateObservableGauge("relay.shared.rules", MeasureRules, "{collection}", "Collections by what their list rule allows: class=shared, per_user, superusers_only (auth collections count as per_user).");
        ClassStreams = meter.CreateUpDownCounter<long>("relay.shared.class_streams", "{stream}", "PocketBase streams held for classes of users (one per class and collection), by collection.");
        Topics = meter.CreateUpDownCounter<long>("relay.shared.topics", "{topic}", "Subscribed topics by how they are served: mode=shared (a class stream) or per_user.");
        ShadowComparisons = meter.CreateCounter<long>("relay.shared.shadow.comparisons", "{event}", "Events compared between a class stream and a sampled user's own stream, by collection.");
        ShadowDisagreements = meter.CreateCounter<long>("relay.shared.shadow.disagreements", "{event}", "Events one side delivered and the other did not (sharing is switched off for the collection), by collection.");
        CommitLag = meter.CreateHistogram<double>("relay.shared.commit_lag", "ms", "From PocketBase's commit of a record change to Relay's send, by collection.");
    }

    public UpDownCounter<long> ClassStreams { get; }

    public UpDownCounter<long> Topics { get; }

    public Counter<long> ShadowComparisons { get; }

    public Counter<long> ShadowDisagreements { get; }

    public Histogram<double> CommitLag { get; }

    public void RulesRead(bool succeeded) => _rulesReads.Add(1, succeeded ? Succeeded : Failed);

    /// <summary>The rules <c>relay.shared.rules</c> reports (<see cref="CollectionRules.Current"/>).</summary>
    public void ObserveRules(Func<CollectionRuleSet> rules) => _rules = rules;

    private IEnumerable<Measurement<long>> MeasureRules()
    {
        var collections = _rules?.Invoke().Collections ?? [];
        yield return Measure("shared", collections.Count(static c => !c.IsAuth && c.ListClass.Kind == RuleClassKind.Shared));
        yield return Measure("per_user", collections.Count(static c => c.IsAuth || c.ListClass.Kind == RuleClassKind.PerUser));
        yield return Measure("superusers_only", collections.Count(static c => !c.IsAuth && c.ListClass.Kind == RuleClassKind.SuperusersOnly));
    }

    private static Measurement<long> Measure(string kind, int value) => new(value, new KeyValuePair<string, object?>("class", kind));
}
