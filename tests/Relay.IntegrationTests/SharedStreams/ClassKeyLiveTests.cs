using Relay.IntegrationTests.Infrastructure;
using Relay.SharedStreams;
using Relay.Testing.PocketBase;

namespace Relay.IntegrationTests.SharedStreams;

/// <summary>
/// Issue 22, item 2, held against the real PocketBase of the run: viewers that get the same class key under a shared
/// rule are shown the same records by PocketBase itself, and viewers it shows different records get different keys.
/// The key is computed from each viewer's own auth record as PocketBase returns it (<c>auth-refresh</c>).
/// </summary>
[Collection(PocketBaseCollection.Name)]
public sealed class ClassKeyLiveTests(PocketBaseFixture pocketBase)
{
    [Theory]
    [InlineData("@request.auth.name = \"editor\" || title = \"public\"", 2)]
    [InlineData("// signed-in users see everything, guests the public records\n@request.auth.id != \"\" || title = \"public\"", 2)]
    [InlineData("@request.auth.id = \"\" && title = \"public\"", 2)]
    [InlineData("@request.auth.verified = true || title = \"public\"", 2)]
    [InlineData("title = \"public\"", 1)]
    public async Task ClassKey_SameKeySameRecords_DifferentRecordsDifferentKeys(string rule, int differentViews)
    {
        var ruleClass = RuleClassifier.Classify(rule);
        Assert.True(ruleClass.IsShared, ruleClass.ToString());
        var name = $"sh_keys_{Guid.NewGuid().ToString("N")[..8]}";
        await pocketBase.Admin.CreateCollectionAsync(new CollectionDefinition(name, FieldDefinition.Text("title")).WithReadRule(rule)).DefaultTimeout();
        try
        {
            await pocketBase.Admin.CreateRecordAsync(name, new { title = "public" }).DefaultTimeout();
            await pocketBase.Admin.CreateRecordAsync(name, new { title = "secret" }).DefaultTimeout();
            var viewers = new List<(string Who, string? Key, string Seen)>();
            foreach (var (who, role) in new[] { ("editor 1", "editor"), ("editor 2", "editor"), ("viewer", "viewer") })
            {
                var user = await pocketBase.CreateUserAsync("keys");
                await pocketBase.Admin.UpdateRecordAsync("users", user.Id, new { name = role, verified = role == "editor" }).DefaultTimeout();
                var refreshed = await pocketBase.Admin.SendAsync(HttpMethod.Post, "api/collections/users/auth-refresh", null, user.Token).DefaultTimeout();
                viewers.Add((who, ClassKey.For(ruleClass, refreshed.GetProperty("record")), await SeenAsync(name, user.Token)));
            }

            viewers.Add(("guest", ClassKey.For(ruleClass, null), await SeenAsync(name, token: "")));

            // Not vacuous: the viewers really are shown different records where the rule says they should be.
            Assert.Equal(differentViews, viewers.Select(viewer => viewer.Seen).Distinct().Count());
            foreach (var a in viewers)
            {
                Assert.NotNull(a.Key);
                foreach (var b in viewers.Where(b => b.Key == a.Key))
                {
                    Assert.True(a.Seen == b.Seen, $"{a.Who} and {b.Who} share the key {a.Key} but PocketBase shows them [{a.Seen}] and [{b.Seen}]");
                }

                foreach (var b in viewers.Where(b => b.Seen != a.Seen))
                {
                    Assert.NotEqual(a.Key, b.Key);
                }
            }
        }
        finally
        {
            await pocketBase.Admin.SendAsync(HttpMethod.Delete, $"api/collections/{name}", null, null).DefaultTimeout();
        }
    }

    /// <summary>The titles PocketBase lists for the viewer (the list rule, as the realtime stream checks it), sorted.</summary>
    private async Task<string> SeenAsync(string collection, string token)
    {
        var page = await pocketBase.Admin.SendAsync(HttpMethod.Get, $"api/collections/{collection}/records?perPage=50", null, token).DefaultTimeout();
        return string.Join(",", page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("title").GetString()).Order(StringComparer.Ordinal));
    }
}
