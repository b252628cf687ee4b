using Microsoft.Extensions.DependencyInjection;
using Relay.IntegrationTests.Infrastructure;
using Relay.SharedStreams;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.SharedStreams;

/// <summary>
/// Issue 22, item 1: Relay reads PocketBase's collection rules with superuser credentials — an admin on 0.22, a
/// <c>_superusers</c> record on 0.23+ — from the real PocketBase of the run, classifies them, and re-reads on demand;
/// without credentials it reads nothing, and neither the token nor the password reaches a log.
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class CollectionRulesLiveTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Start_WithCredentials_ReadsAndClassifiesEveryCollection()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var created = new List<string>();
        try
        {
            var publicId = await CreateAsync(created, $"sh_pub_{suffix}", "");
            await CreateAsync(created, $"sh_signed_{suffix}", "@request.auth.id != \"\"");
            // A comment and an auth field PocketBase reads from the user's record (not from the token): both versions take it.
            await CreateAsync(created, $"sh_name_{suffix}", "// editors by name\n@request.auth.name = \"editor\" || title = \"public\"");
            await CreateAsync(created, $"sh_owner_{suffix}", "owner = @request.auth.id", FieldDefinition.Relation("owner", "users"));
            await CreateAsync(created, $"sh_null_{suffix}", null);
            await pocketBase.Admin.CreateCollectionAsync(
                new CollectionDefinition($"sh_mixed_{suffix}", FieldDefinition.Text("title"), FieldDefinition.Relation("owner", "users"))
                {
                    ListRule = "title = \"published\"",
                    ViewRule = "owner = @request.auth.id",
                }).DefaultTimeout();
            created.Add($"sh_mixed_{suffix}");
            var functions = pocketBase.Version.Minor >= 27;
            if (functions)
            {
                // Filter functions exist from 0.27: a rule with one is taken by PocketBase and kept per user.
                await CreateAsync(created, $"sh_func_{suffix}", "strftime('%Y', created) = \"2026\" && title != ''");
            }

            await using var relay = RelayServer.Start(pocketBase.Server.Url, Settings(pocketBase.Server.SuperuserPassword));
            var rules = relay.Services.GetRequiredService<CollectionRules>();
            await WaitUntilAsync(() => created.TrueForAll(name => rules.Current.TryGet(name, out _)));
            var current = rules.Current;

            Assert.Same(RuleClass.Everyone, Get(current, $"sh_pub_{suffix}").ListClass);
            Assert.True(current.TryGet(publicId, out var byId));
            Assert.Equal($"sh_pub_{suffix}", byId.Name);
            Assert.Equal(new[] { "id" }, Get(current, $"sh_signed_{suffix}").ListClass.AuthFields);
            Assert.Equal(new[] { "name" }, Get(current, $"sh_name_{suffix}").ViewClass.AuthFields);
            Assert.Equal(RuleClassKind.PerUser, Get(current, $"sh_owner_{suffix}").ListClass.Kind);
            Assert.Equal(RuleClassKind.SuperusersOnly, Get(current, $"sh_null_{suffix}").ListClass.Kind);
            var mixed = Get(current, $"sh_mixed_{suffix}");
            Assert.Same(RuleClass.Everyone, mixed.ListClass);
            Assert.Equal(RuleClassKind.PerUser, mixed.ViewClass.Kind);

            if (functions)
            {
                Assert.Contains("strftime", Get(current, $"sh_func_{suffix}").ListClass.Reason, StringComparison.Ordinal);
            }

            Assert.True(Get(current, "users").IsAuth);
            Assert.False(Get(current, "notes").IsAuth);
            // 0.23+ lists its superusers as an auth collection; 0.22 keeps admins out of the collections.
            Assert.Equal(pocketBase.Version.HasSuperuserCollection, current.TryGet("_superusers", out var superusers) && superusers.IsAuth);

            Assert.True(rules.ClassifyTopic($"sh_signed_{suffix}", wildcard: true, options: null).IsShared);
            Assert.False(rules.ClassifyTopic("users", wildcard: true, options: null).IsShared);
            Assert.True(relay.Gauge("relay.shared.rules", new("class", "shared")) >= 3);
            Assert.True(relay.Gauge("relay.shared.rules", new("class", "superusers_only")) >= 1);
            Assert.True(relay.Gauge("relay.shared.rules", new("class", "per_user")) >= 2);
            // The fixture's PocketBase runs Relay's hook, as operators are told to: asked with the superuser token, found
            // on 0.23+, and not needed on 0.22.
            Assert.DoesNotContain(relay.Logs.Entries, static entry => entry.EventId.Id == 11033);
            AssertNoSecretLogged(relay, pocketBase.Server.SuperuserPassword);
        }
        finally
        {
            await DeleteAsync(created);
        }
    }

    [Fact]
    public async Task RefreshAsync_RuleChangedInPocketBase_ReadAtOnce()
    {
        var name = $"sh_change_{Guid.NewGuid().ToString("N")[..8]}";
        var created = new List<string>();
        try
        {
            await CreateAsync(created, name, "");
            await using var relay = RelayServer.Start(pocketBase.Server.Url, Settings(pocketBase.Server.SuperuserPassword));
            var rules = relay.Services.GetRequiredService<CollectionRules>();
            await WaitUntilAsync(() => rules.Current.TryGet(name, out _));
            var generation = rules.Generation;

            await pocketBase.Admin.SendAsync(HttpMethod.Patch, $"api/collections/{name}", new { listRule = "@request.auth.verified = true", viewRule = (string?)null }, token: null).DefaultTimeout();
            await rules.RefreshAsync(CancellationToken.None).DefaultTimeout();

            var changed = Get(rules.Current, name);
            Assert.Equal(new[] { "verified" }, changed.ListClass.AuthFields);
            Assert.Equal(RuleClassKind.SuperusersOnly, changed.ViewClass.Kind);
            Assert.True(rules.Generation > generation);
        }
        finally
        {
            await DeleteAsync(created);
        }
    }

    [Fact]
    public async Task Start_EnabledWithoutCredentials_NothingReadAndSaidSo()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url, new Dictionary<string, string?> { ["Relay:SharedStreams:Enabled"] = "true" });
        var rules = relay.Services.GetRequiredService<CollectionRules>();

        Assert.False(rules.CanRead);
        Assert.False(await rules.ReadOnceAsync(CancellationToken.None).DefaultTimeout());
        Assert.Same(CollectionRuleSet.Empty, rules.Current);
        await WaitUntilAsync(() => relay.Logs.Entries.Any(entry => entry.EventId.Id == 11005));
    }

    [Fact]
    public async Task Start_CredentialsButSharingOff_NothingRead()
    {
        var settings = Settings(pocketBase.Server.SuperuserPassword);
        settings.Remove("Relay:SharedStreams:Enabled");
        await using var relay = RelayServer.Start(pocketBase.Server.Url, settings);
        var rules = relay.Services.GetRequiredService<CollectionRules>();

        Assert.False(rules.CanRead);
        Assert.False(await rules.ReadOnceAsync(CancellationToken.None).DefaultTimeout());
        Assert.Same(CollectionRuleSet.Empty, rules.Current);
    }

    [Fact]
    public async Task Start_WrongPassword_RefusedLoggedWithoutTheSecret()
    {
        const string wrong = "not-the-superuser-password-7f3a";
        await using var relay = RelayServer.Start(pocketBase.Server.Url, Settings(wrong));
        var rules = relay.Services.GetRequiredService<CollectionRules>();

        await WaitUntilAsync(() => relay.Logs.Entries.Any(entry => entry.EventId.Id == 11004));

        Assert.Same(CollectionRuleSet.Empty, rules.Current);
        Assert.Contains(relay.Logs.Entries, entry => entry.EventId.Id == 11004 && entry.Text.Contains("Status=400", StringComparison.Ordinal));
        AssertNoSecretLogged(relay, wrong);
    }

    private static Dictionary<string, string?> Settings(string password) => new()
    {
        ["Relay:SharedStreams:Enabled"] = "true",
        ["Relay:SharedStreams:RefreshSpacing"] = "00:00:00",
        ["Relay:PocketBase:SuperuserEmail"] = PocketBaseAdmin.Email,
        ["Relay:PocketBase:SuperuserPassword"] = password,
    };

    private static CollectionRule Get(CollectionRuleSet rules, string name)
    {
        Assert.True(rules.TryGet(name, out var collection), $"{name} was not read");
        return collection;
    }

    /// <summary>Every PocketBase token is a JWT, and every JWT starts with the base64 of <c>{"alg":</c>.</summary>
    private static void AssertNoSecretLogged(RelayServer relay, string password)
    {
        Assert.DoesNotContain(relay.Logs.Entries, entry => entry.Text.Contains(password, StringComparison.Ordinal));
        Assert.DoesNotContain(relay.Logs.Entries, entry => entry.Text.Contains("eyJhbGciOi", StringComparison.Ordinal));
    }

    private async Task<string> CreateAsync(List<string> created, string name, string? rule, params FieldDefinition[] fields)
    {
        var collection = await pocketBase.Admin.CreateCollectionAsync(new CollectionDefinition(name, [FieldDefinition.Text("title"), .. fields]).WithReadRule(rule)).DefaultTimeout();
        created.Add(name);
        return collection.GetProperty("id").GetString()!;
    }

    private async Task DeleteAsync(List<string> names)
    {
        foreach (var name in names)
        {
            await pocketBase.Admin.SendAsync(HttpMethod.Delete, $"api/collections/{name}", null, null).DefaultTimeout();
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TestTimeouts.Default;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }
}
