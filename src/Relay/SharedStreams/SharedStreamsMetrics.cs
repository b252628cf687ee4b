using System.Diagnostics.Metrics;
using Relay.Diagnostics;

namespace Relay.SharedStreams;

/// <summary>
/// Shared streams' instruments, in Relay's meter (<see cref="RelayMetrics.MeterName"/>; the meter factory hands out the
/// same meter). The rules' instruments report now; those for class streams, shadow verification and commit lag (#22
/// items 3–5) report as those parts run; shadow verification's and the commit lag's stay at zero until they exist.
/// </summary>
internal sealed class SharedStreamsMetrics
{
    private static readonly KeyValuePair<string, object?> Succeeded = new("result", "ok");
    private static readonly KeyValuePair<string, object?> Failed = new("result", "failed");

    private readonly Counter<long> _rulesReads;
    private readonly Counter<long> _moves;
    private readonly Counter<long> _holderChanges;
    private Func<CollectionRuleSet>? _rules;
    private Func<IEnumerable<Measurement<long>>>? _classStreams;
    private Func<long>? _sharedTopics;
    private Func<long>? _perUserTopics;

    public SharedStreamsMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(RelayMetrics.MeterName);
        _rulesReads = meter.CreateCounter<long>("relay.shared.rules.reads", "{read}", "Reads of PocketBase's collection rules with the superuser credentials, by result (ok, failed).");
        meter.CreateObservableGauge("relay.shared.rules", MeasureRules, "{collection}", "Collections by what their list rule allows: class=shared, per_user, superusers_only (auth collections count as per_user).");
        meter.CreateObservableGauge("relay.shared.class_streams", () => _classStreams?.Invoke() ?? [], "{stream}", "PocketBase streams held for classes of users (one per class, collection and rule), by collection.");
        meter.CreateObservableGauge("relay.shared.topics", MeasureTopics, "{topic}", "Topics held on PocketBase streams by how they are served: mode=shared (class streams) or per_user (users' own streams).");
        _moves = meter.CreateCounter<long>("relay.shared.moves", "{topic}", "A member's shared topics moved to another class (or per user) because their own auth record changed.");
        _holderChanges = meter.CreateCounter<long>("relay.shared.holder_changes", "{stream}", "Class streams moved to another member's token because their holder left (without a gap when it left as a member; else reopened, with a Resync), by collection.");
        ShadowComparisons = meter.CreateCounter<long>("relay.shared.shadow.comparisons", "{event}", "Events compared between a class stream and a sampled user's own stream, by collection.");
        ShadowDisagreements = meter.CreateCounter<long>("relay.shared.shadow.disagreements", "{event}", "Events one side delivered and the other did not (sharing is switched off for the collection), by collection.");
        CommitLag = meter.CreateHistogram<double>("relay.shared.commit_lag", "ms", "From PocketBase's commit of a record change to Relay's send, by collection.");
    }

    public Counter<long> ShadowComparisons { get; }

    public Counter<long> ShadowDisagreements { get; }

    public Histogram<double> CommitLag { get; }

    public void RulesRead(bool succeeded) => _rulesReads.Add(1, succeeded ? Succeeded : Failed);

    /// <summary>The rules <c>relay.shared.rules</c> reports (<see cref="CollectionRules.Current"/>).</summary>
    public void ObserveRules(Func<CollectionRuleSet> rules) => _rules = rules;

    /// <summary>The class streams (by collection) and the topics they hold, for <c>relay.shared.class_streams</c> and <c>relay.shared.topics</c>.</summary>
    public void ObserveClassStreams(Func<IEnumerable<Measurement<long>>> streams, Func<long> sharedTopics)
    {
        _classStreams = streams;
        _sharedTopics = sharedTopics;
    }

    /// <summary>The topics held on users' own streams, for <c>relay.shared.topics{mode=per_user}</c>.</summary>
    public void ObservePerUserTopics(Func<long> perUserTopics) => _perUserTopics = perUserTopics;

    public void Moved(int topics) => _moves.Add(topics);

    public void HolderChanged(string collection) => _holderChanges.Add(1, new KeyValuePair<string, object?>("collection", collection));

    private IEnumerable<Measurement<long>> MeasureTopics()
    {
        yield return new(_sharedTopics?.Invoke() ?? 0, new KeyValuePair<string, object?>("mode", "shared"));
        yield return new(_perUserTopics?.Invoke() ?? 0, new KeyValuePair<string, object?>("mode", "per_user"));
    }

    private IEnumerable<Measurement<long>> MeasureRules()
    {
        var collections = _rules?.Invoke().Collections ?? [];
        yield return Measure("shared", collections.Count(static c => !c.IsAuth && c.ListClass.Kind == RuleClassKind.Shared));
        yield return Measure("per_user", collections.Count(static c => c.IsAuth || c.ListClass.Kind == RuleClassKind.PerUser));
        yield return Measure("superusers_only", collections.Count(static c => !c.IsAuth && c.ListClass.Kind == RuleClassKind.SuperusersOnly));
    }

    private static Measurement<long> Measure(string kind, int value) => new(value, new KeyValuePair<string, object?>("class", kind));
}
