using Microsoft.Extensions.Options;
using Relay.Client.Protocol;

namespace Relay.SharedStreams;

/// <summary>
/// PocketBase's collection rules, read with the superuser credentials of <see cref="SuperuserCredentialsOptions"/> and
/// kept as an immutable <see cref="CollectionRuleSet"/>: read when Relay starts, again every
/// <see cref="SharedStreamsOptions.RulesRefreshInterval"/> (<see cref="CollectionRulesRefresher"/>), and on demand
/// (<see cref="RefreshAsync"/>, when PocketBase refuses a topic that was shared). Without credentials, or with sharing
/// off, it reads nothing and <see cref="Current"/> knows no collection: nothing is shared.
/// The superuser's access is read-only by use: Relay signs in, lists collections, asks whether its PocketBase hook is
/// installed and reads which members' records still exist, nothing else; the token is never logged, and opens no
/// stream whose events reach a connection (only <see cref="AuthRecordWatch"/>, which learns of members' deaths: see
/// <see cref="PocketBaseSchemaClient"/>). Class streams are opened with a member's own token, so
/// PocketBase still evaluates the rule for every event.
/// </summary>
internal sealed partial class CollectionRules : IDisposable
{
    private readonly PocketBaseSchemaClient _schema;
    private readonly SharedStreamsMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<CollectionRules> _logger;
    private readonly SharedStreamsOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private CollectionRuleSet _rules = CollectionRuleSet.Empty;
    private long _readsStarted;
    private long _generation;

    // Written and read under _gate only.
    private DateTimeOffset _lastReadStartedAt = DateTimeOffset.MinValue;
    private bool _deathsHookSeen;
    private bool _deathsHookWarned;

    public CollectionRules(
        PocketBaseSchemaClient schema,
        IOptions<SharedStreamsOptions> options,
        IOptions<SuperuserCredentialsOptions> credentials,
        SharedStreamsMetrics metrics,
        TimeProvider timeProvider,
        ILogger<CollectionRules> logger)
    {
        _schema = schema;
        _options = options.Value;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
        CanRead = _options.Enabled && credentials.Value.IsConfigured;
        metrics.ObserveRules(() => Current);
    }

    /// <summary>Sharing is on and superuser credentials are configured: the rules are read.</summary>
    public bool CanRead { get; }

    /// <summary>
    /// The rules last read, or <see cref="CollectionRuleSet.Empty"/> when none were read, or the last successful read is
    /// older than <see cref="SharedStreamsOptions.RulesMaxAge"/> (a rule may have changed meanwhile).
    /// </summary>
    public CollectionRuleSet Current
    {
        get
        {
            var rules = Volatile.Read(ref _rules);
            return rules == CollectionRuleSet.Empty || _timeProvider.GetUtcNow() - rules.ReadAt > _options.RulesMaxAge ? CollectionRuleSet.Empty : rules;
        }
    }

    /// <summary>How one subscription classifies under <see cref="Current"/> (<see cref="TopicClassifier"/>).</summary>
    public RuleClass ClassifyTopic(string collection, bool wildcard, SubscriptionOptions? options)
        => TopicClassifier.Classify(Current, collection, wildcard, options);

    /// <summary>Goes up by one whenever a read finds rules different from the previous read's.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>
    /// Reads the rules again, unless a read that started after this call began has completed meanwhile (many callers at
    /// once share one read). Reads are at least <see cref="SharedStreamsOptions.RefreshSpacing"/> apart. A failed read
    /// is logged and leaves the previous rules in place until they are too old.
    /// </summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (!CanRead)
        {
            return;
        }

        var seen = Interlocked.Read(ref _readsStarted);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Interlocked.Read(ref _readsStarted) > seen)
            {
                return;
            }

            var wait = _lastReadStartedAt + _options.RefreshSpacing - _timeProvider.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _timeProvider, cancellationToken);
            }

            await ReadLockedAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }

        ReadCompleted?.Invoke();
    }

    /// <summary>One periodic read (<see cref="CollectionRulesRefresher"/>'s iteration); true when the rules were read.</summary>
    internal async Task<bool> ReadOnceAsync(CancellationToken cancellationToken)
    {
        if (!CanRead)
        {
            return false;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await ReadLockedAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
            // Class streams check after every periodic read whether their rules changed or went stale.
            ReadCompleted?.Invoke();
        }
    }

    /// <summary>Raised after each read (periodic or on demand), whatever its outcome (<see cref="Generation"/> and <see cref="Current"/> tell what changed).</summary>
    public event Action? ReadCompleted;

    public void Dispose() => _gate.Dispose();

    /// <summary>Warns once while Relay's PocketBase hook is missing on 0.23+, and says so when it turns up; asks at every read until it answers.</summary>
    private async Task CheckDeathsHookAsync(CancellationToken cancellationToken)
    {
        if (_deathsHookSeen)
        {
            return;
        }

        switch (await _schema.DeathsHookMissingAsync(cancellationToken))
        {
            case true when !_deathsHookWarned:
                _deathsHookWarned = true;
                Log.DeathsHookMissing(_logger);
                break;
            case false:
                _deathsHookSeen = true;
                if (_deathsHookWarned)
                {
                    Log.DeathsHookFound(_logger);
                }

                break;
        }
    }

    private async Task<bool> ReadLockedAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _readsStarted);
        _lastReadStartedAt = _timeProvider.GetUtcNow();
        IReadOnlyList<CollectionRule> collections;
        try
        {
            collections = await _schema.ReadCollectionsAsync(cancellationToken);
        }
        catch (RulesReadException ex)
        {
            _metrics.RulesRead(succeeded: false);
            Log.ReadFailed(_logger, ex.Status is { } status ? (int)status : 0, _options.RulesMaxAge, ex);
            return false;
        }

        var rules = new CollectionRuleSet(collections, _timeProvider.GetUtcNow());
        var previous = Volatile.Read(ref _rules);
        Volatile.Write(ref _rules, rules);
        _metrics.RulesRead(succeeded: true);
        await CheckDeathsHookAsync(cancellationToken);
        if (previous.SameRulesAs(rules) && previous != CollectionRuleSet.Empty)
        {
            Log.Unchanged(_logger, rules.Collections.Count);
            return true;
        }

        Interlocked.Increment(ref _generation);
        Log.Read(_logger, rules.Collections.Count, rules.Collections.Count(static c => !c.IsAuth && c.ListClass.IsShared));
        foreach (var collection in rules.Collections)
        {
            Log.Classified(_logger, collection.Name, collection.IsAuth ? "auth collection, never shared" : collection.ListClass.ToString(), collection.ViewClass.ToString());
        }

        return true;
    }
}
