using System.Collections.Concurrent;
using Relay.IntegrationTests.Infrastructure;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.SharedStreams;

/// <summary>
/// The soak's PocketBase side: one collection per kind of rule, a pool of records that never goes away (for record
/// topics), the viewers, and the one writer that changes anything (records, roles, users) one operation at a time, so
/// that every event's place among the transitions is known by its operation index.
/// </summary>
internal sealed class IsolationSoakWorld
{
    /// <summary>Each collection's rule (list and view): per user, by role, public, by record, by signed-in.</summary>
    public static readonly (string Kind, string Rule)[] Kinds =
    [
        ("owner", "owner = @request.auth.id"),
        ("member", "members.id ?= @request.auth.id"),
        ("role", "@request.auth.role = \"editor\""),
        ("public", ""),
        ("published", "status = \"published\""),
        ("signedin", "@request.auth.id != \"\""),
    ];

    private const int PoolPerCollection = 4;
    private static readonly string[] Roles = ["editor", "viewer"];
    private static readonly string[] Statuses = ["published", "draft"];

    private readonly PocketBaseAdmin _admin;
    private readonly Dictionary<string, List<string>> _created = [];
    private long _started;

    private IsolationSoakWorld(PocketBaseAdmin admin, Random random, string suffix)
    {
        _admin = admin;
        Random = random;
        Collections = [.. Kinds.Select(kind => $"soak_{kind.Kind}_{suffix}")];
    }

    public Random Random { get; }

    public IReadOnlyList<string> Collections { get; }

    public Dictionary<string, List<string>> Pool { get; } = [];

    public List<IsolationSoakViewer> Viewers { get; } = [];

    /// <summary>A guest subscribed to every topic: what any guest may be sent (a deleted user's token counts as none).</summary>
    public IsolationSoakViewer Reference { get; private set; } = null!;

    /// <summary>Every event the writer caused, by key: its operation index and when the operation started.</summary>
    public ConcurrentDictionary<string, (long Index, DateTime At)> Written { get; } = new();

    /// <summary>Operations started so far (the index of the last one).</summary>
    public long Started => Interlocked.Read(ref _started);

    public string PublicCollection => Collections[3];

    public static async Task<IsolationSoakWorld> CreateAsync(PocketBaseAdmin admin, Random random, int users, int guests)
    {
        var world = new IsolationSoakWorld(admin, random, Guid.NewGuid().ToString("N")[..8]);
        await admin.EnsureFieldAsync("users", FieldDefinition.Text("role")).DefaultTimeout();
        foreach (var (collection, (_, rule)) in world.Collections.Zip(Kinds))
        {
            await admin.CreateCollectionAsync(new CollectionDefinition(
                collection,
                FieldDefinition.Text("title"),
                FieldDefinition.Number("seq"),
                FieldDefinition.Text("status"),
                FieldDefinition.Relation("owner", "users"),
                new FieldDefinition("members", "relation") { RelatedCollection = "users", MaxSelect = 5 }).WithReadRule(rule)).DefaultTimeout();
            world._created[collection] = [];
        }

        // Signed up a few at a time: every sign-up and sign-in hashes a password.
        using var gate = new SemaphoreSlim(4);
        var created = await Task.WhenAll(Enumerable.Range(0, users).Select(async i =>
        {
            // Up to 80 hashes queue here: 0.22.20 takes about half a second each on this machine.
            Assert.True(await gate.WaitAsync(TimeSpan.FromMinutes(3)), "user sign-ups stalled");
            try
            {
                var email = $"soak-{i}-{Guid.NewGuid():N}@relay.test";
                var role = Roles[i % 2];
                await admin.SendAsync(HttpMethod.Post, "api/collections/users/records", new { email, password = "soak-password-1", passwordConfirm = "soak-password-1", role }, token: null).DefaultTimeout();
                return (User: await admin.LoginUserAsync(email, "soak-password-1").DefaultTimeout(), Role: role);
            }
            finally
            {
                gate.Release();
            }
        }));
        // The pool first (owned by no one yet: the writer's updates give its records owners), so viewers can pick record topics.
        foreach (var collection in world.Collections)
        {
            world.Pool[collection] = [];
            for (var i = 0; i < PoolPerCollection; i++)
            {
                var record = await admin.CreateRecordAsync(collection, world.Body(Interlocked.Increment(ref world._started))).DefaultTimeout();
                world.Pool[collection].Add(record.GetProperty("id").GetString()!);
            }
        }

        for (var i = 0; i < created.Length; i++)
        {
            world.Viewers.Add(new IsolationSoakViewer($"user {i}", created[i].User.Id, created[i].User.Token, world.PickTopics()) { Role = created[i].Role });
        }

        for (var i = 0; i < guests; i++)
        {
            world.Viewers.Add(new IsolationSoakViewer($"guest {i}", null, null, world.PickTopics()));
        }

        world.Reference = new IsolationSoakViewer("reference guest", null, null, [.. world.Collections.Select(static c => c + "/*"), .. world.Pool.SelectMany(static p => p.Value.Select(id => $"{p.Key}/{id}"))]);
        return world;
    }

    /// <summary>Every collection's list, and three records of the pool.</summary>
    private List<string> PickTopics()
    {
        var records = Pool.SelectMany(static p => p.Value.Select(id => $"{p.Key}/{id}")).ToArray();
        Random.Shuffle(records);
        return [.. Collections.Select(static c => c + "/*"), .. records.Take(3)];
    }

    /// <summary>Some of the viewer's topics, at least one, as a tab of an app would hold.</summary>
    public List<string> PickTabTopics(IsolationSoakViewer viewer)
    {
        var topics = viewer.Topics.Where(topic => Random.Next(100) < (topic.EndsWith("/*", StringComparison.Ordinal) ? 85 : 70)).ToList();
        return topics.Count > 0 ? topics : [viewer.Topics[Random.Next(viewer.Topics.Count)]];
    }

    /// <summary>Users whose token still works.</summary>
    public IReadOnlyList<IsolationSoakViewer> LiveUsers => [.. Viewers.Where(static v => !v.IsGuest && v.TokenDead is null)];

    private object Body(long seq)
    {
        // Relations must point at users that exist (a revoked user still does).
        var live = Viewers.Where(static v => !v.IsGuest && v.TokenDead?.How != "deleted").ToList();
        var members = live.Count == 0 ? [] : Enumerable.Range(0, Random.Next(4)).Select(_ => live[Random.Next(live.Count)].Id!).Distinct().ToArray();
        return new
        {
            title = $"op {seq}",
            seq,
            status = Statuses[Random.Next(Statuses.Length)],
            owner = live.Count == 0 || Random.Next(10) == 0 ? "" : live[Random.Next(live.Count)].Id,
            members,
        };
    }

    /// <summary>One record write: a create, an update (of the pool or a created record) or a delete of a created one.</summary>
    public async Task WriteAsync()
    {
        var collection = Collections[Random.Next(Collections.Count)];
        var created = _created[collection];
        var roll = Random.Next(100);
        var index = Interlocked.Increment(ref _started);
        var at = DateTime.UtcNow;
        if (roll < 30 || (created.Count == 0 && roll >= 85))
        {
            var record = await _admin.CreateRecordAsync(collection, Body(index)).DefaultTimeout();
            created.Add(record.GetProperty("id").GetString()!);
            Written[IsolationSoakEvents.Key("create", record)] = (index, at);
        }
        else if (roll < 85)
        {
            var ids = Pool[collection].Concat(created).ToArray();
            var record = await _admin.UpdateRecordAsync(collection, ids[Random.Next(ids.Length)], Body(index)).DefaultTimeout();
            Written[IsolationSoakEvents.Key("update", record)] = (index, at);
        }
        else
        {
            var position = Random.Next(created.Count);
            var id = created[position];
            created.RemoveAt(position);
            Written[$"delete|{id}"] = (index, at);
            await _admin.DeleteRecordAsync(collection, id).DefaultTimeout();
        }
    }

    /// <summary>A record every viewer may see (the public collection): the end-of-run marker.</summary>
    public async Task<string> WriteMarkerAsync()
    {
        var index = Interlocked.Increment(ref _started);
        var record = await _admin.CreateRecordAsync(PublicCollection, Body(index)).DefaultTimeout();
        var key = IsolationSoakEvents.Key("create", record);
        Written[key] = (index, DateTime.UtcNow);
        return key;
    }

    public async Task ChangeRoleAsync(IsolationSoakViewer user)
    {
        Interlocked.Increment(ref _started);
        var role = user.Role == "editor" ? "viewer" : "editor";
        await _admin.UpdateRecordAsync("users", user.Id!, new { role }).DefaultTimeout();
        user.Role = role;
    }

    public async Task DeleteUserAsync(IsolationSoakViewer user)
    {
        var index = Interlocked.Increment(ref _started);
        user.TokenDead = (index, DateTime.UtcNow, "deleted");
        await _admin.DeleteRecordAsync("users", user.Id!).DefaultTimeout();
    }

    /// <summary>Signs the user out everywhere: a new password rotates the token key, so every token it had is refused.</summary>
    public async Task RevokeAsync(IsolationSoakViewer user)
    {
        var index = Interlocked.Increment(ref _started);
        user.TokenDead = (index, DateTime.UtcNow, "revoked");
        await _admin.UpdateRecordAsync("users", user.Id!, new { password = "soak-password-2", passwordConfirm = "soak-password-2" }).DefaultTimeout();
    }

    public async Task DeleteCollectionsAsync()
    {
        foreach (var collection in Collections)
        {
            await _admin.SendAsync(HttpMethod.Delete, $"api/collections/{collection}", null, null).DefaultTimeout();
        }
    }
}
