using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Relay.PocketBase;

namespace Relay.SharedStreams;

/// <summary>
/// Reads collection rules as a PocketBase superuser through <see cref="PocketBaseCollectionsClient"/>: signs in (a
/// <c>_superusers</c> record on 0.23+, an admin on 0.22: tried in that order, the one that answers is remembered),
/// lists <c>GET /api/collections</c>, asks <c>GET /api/relay/hooks</c> (Relay's PocketBase hook), and, for
/// <see cref="ClassStreams"/> after a gap on the watch, lists which members' auth records still exist (ids and
/// <c>updated</c> only); nothing else. The superuser token stays in this object: sent (by that client, which keeps
/// nothing) with those requests, never logged, and handed out only to <see cref="AuthRecordWatch"/>
/// (<see cref="RealtimeToken"/>), whose stream is not a session and never reaches the fan-out: PocketBase skips every
/// rule for a superuser and shows hidden fields, so a session's stream held with it would carry every record to whoever
/// Relay routed it to. Not thread-safe but for <see cref="ReadUpdatedAsync"/>: <see cref="CollectionRules"/> calls the
/// rest under its gate.
/// </summary>
internal sealed class PocketBaseSchemaClient(
    PocketBaseCollectionsClient pocketBase,
    IOptions<SuperuserCredentialsOptions> credentials,
    IOptions<SharedStreamsOptions> options,
    TimeProvider timeProvider)
{
    private const int MaxPages = 100;

    /// <summary>Member records asked for per list request (<see cref="ReadUpdatedAsync"/>): a filter of this many ids stays a few KB.</summary>
    public const int RecordsPerList = 100;

    // The token is renewed at the read before it would expire, with a read to spare: the watch may post it (a
    // reconnect) at any moment until the next read. PocketBase treats an expired token on a realtime POST as no token:
    // the watch would be subscribed as a guest and see no member's deletion, without an error.
    private readonly TimeSpan _renewBefore = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMinutes(5).Ticks, options.Value.RulesRefreshInterval.Ticks * 2));

    private string? _token;
    private string? _signInPath;

    /// <summary>
    /// The superuser token last signed in with (null before the first read), for <see cref="AuthRecordWatch"/> only: a
    /// stream that learns of auth records' changes and routes nothing. Renewed by the read before it would expire (and
    /// by the next read after a 401: revoked).
    /// </summary>
    public string? RealtimeToken => Volatile.Read(ref _token);

    /// <summary>Every collection's id, name, type and read rules; the same fields on 0.22 (<c>schema</c>) and 0.23+ (<c>fields</c>).</summary>
    public async Task<IReadOnlyList<CollectionRule>> ReadCollectionsAsync(CancellationToken cancellationToken)
    {
        var collections = new List<CollectionRule>();
        for (var page = 1; page <= MaxPages; page++)
        {
            if (_token is null || (JwtPayload.TryReadExpiry(_token, out var expiresAt) && expiresAt - timeProvider.GetUtcNow() < _renewBefore))
            {
                _token = await SignInAsync(cancellationToken);
            }

            var listed = await ListAsync(page, cancellationToken);
            if (listed.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                // The superuser token expired or was revoked (password changed): sign in once more, then give up.
                _token = await SignInAsync(cancellationToken);
                listed = await ListAsync(page, cancellationToken);
            }

            if (listed.Status != HttpStatusCode.OK)
            {
                throw new RulesReadException($"PocketBase answered the collection list with {(int)listed.Status}.", listed.Status);
            }

            if (listed.Items is null)
            {
                throw new RulesReadException("PocketBase's collection list has no items.");
            }

            foreach (var item in listed.Items)
            {
                collections.Add(new CollectionRule(item.Id, item.Name, item.IsAuth, item.ListRule, item.ViewRule));
            }

            if (page >= listed.TotalPages || listed.Listed == 0)
            {
                return collections;
            }
        }

        throw new RulesReadException($"PocketBase lists more than {MaxPages * PocketBaseCollectionsClient.PageSize} collections; not read.");
    }

    /// <summary>
    /// True when PocketBase is 0.23+ (the superuser is a <c>_superusers</c> record) and Relay's hook does not answer
    /// (404): there, news of a user's deletion reaches <see cref="AuthRecordWatch"/> only after every update the deletion
    /// made. False when the hook answers, and on 0.22 (which sends the deletion first). Null when the question could not
    /// be asked (not signed in yet, PocketBase unreachable or answering otherwise).
    /// </summary>
    public async Task<bool?> DeathsHookMissingAsync(CancellationToken cancellationToken)
    {
        if (_token is null)
        {
            return null;
        }

        if (_signInPath != PocketBaseCollectionsClient.SuperuserSignInPaths[0])
        {
            return false;
        }

        try
        {
            return await CallAsync(() => pocketBase.ProbeHookAsync(_token, cancellationToken), cancellationToken) switch
            {
                HttpStatusCode.OK => false,
                HttpStatusCode.NotFound => true,
                _ => null,
            };
        }
        catch (RulesReadException)
        {
            return null;
        }
    }

    /// <summary>
    /// Which of <paramref name="recordIds"/> still exist in the auth collection <paramref name="collectionId"/>, with their
    /// <c>updated</c>: one superuser list request per <see cref="RecordsPerList"/> ids. Null when it could not be told (no
    /// token yet, an id PocketBase would not have made, a refusal or no answer): the caller asks each member instead.
    /// Thread-safe: reads the token last signed in with and signs in nothing itself.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string?>?> ReadUpdatedAsync(string collectionId, IReadOnlyList<string> recordIds, CancellationToken cancellationToken)
    {
        var token = RealtimeToken;
        if (token is null || !recordIds.All(IsRecordId))
        {
            return null;
        }

        var found = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var chunk in recordIds.Chunk(RecordsPerList))
        {
            try
            {
                var (status, records) = await CallAsync(() => pocketBase.ListUpdatedAsync(token, collectionId, chunk, cancellationToken), cancellationToken);
                if (status != HttpStatusCode.OK || records is null)
                {
                    return null;
                }

                foreach (var (id, updated) in records)
                {
                    found[id] = updated;
                }
            }
            catch (RulesReadException)
            {
                return null;
            }
        }

        return found;

        // Ids come from verified tokens; anything else is never put into a filter.
        static bool IsRecordId(string id) => id.Length is > 0 and <= 64 && id.All(static c => char.IsAsciiLetterOrDigit(c) || c == '_');
    }

    private Task<PocketBaseCollectionsPage> ListAsync(int page, CancellationToken cancellationToken)
        => CallAsync(() => pocketBase.ListAsync(_token, page, cancellationToken), cancellationToken);

    private async Task<string> SignInAsync(CancellationToken cancellationToken)
    {
        var settings = credentials.Value;
        IReadOnlyList<string> paths = _signInPath is null ? PocketBaseCollectionsClient.SuperuserSignInPaths : [_signInPath];
        foreach (var path in paths)
        {
            var (status, token) = await CallAsync(() => pocketBase.SignInAsync(path, settings.SuperuserEmail, settings.SuperuserPassword, cancellationToken), cancellationToken);
            if (status == HttpStatusCode.NotFound && _signInPath is null)
            {
                continue; // 0.22 has no _superusers collection; 0.23+ no /api/admins.
            }

            if (status != HttpStatusCode.OK)
            {
                throw new RulesReadException($"PocketBase refused the superuser sign-in ({(int)status}).", status);
            }

            if (token is null)
            {
                throw new RulesReadException("PocketBase's superuser sign-in answer has no token.");
            }

            _signInPath = path;
            return token;
        }

        throw new RulesReadException("PocketBase has neither a _superusers collection nor /api/admins.", HttpStatusCode.NotFound);
    }

    private static async Task<T> CallAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or IOException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new RulesReadException("PocketBase could not be reached, or its answer could not be read.", innerException: ex);
        }
    }
}
