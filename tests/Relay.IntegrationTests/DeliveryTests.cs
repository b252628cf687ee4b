using System.Text.Json;
using Relay.IntegrationTests.Infrastructure;

namespace Relay.IntegrationTests;

/// <summary>Who receives what: PocketBase's rules, applied per user through each user's own stream.</summary>
[Collection(PocketBaseCollection.Name)]
public sealed class DeliveryTests(PocketBaseFixture pocketBase)
{
    [Fact]
    public async Task Notes_OwnerTabsReceiveCreateUpdateDeleteInOrder_OtherUserReceivesNothing()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var alice = pocketBase.Alice;
        var tabs = new List<TestConnection>();
        for (var i = 0; i < 3; i++)
        {
            var tab = await relay.ConnectAsync(alice.Token);
            await tab.SubscribeAsync("notes/*");
            tabs.Add(tab);
        }

        var bobTab = await relay.ConnectAsync(pocketBase.Bob.Token);
        await bobTab.SubscribeAsync("notes/*");

        var note = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "first", owner = alice.Id }, alice.Token).DefaultTimeout();
        var id = note.GetProperty("id").GetString()!;
        foreach (var tab in tabs)
        {
            var created = await tab.NextEventAsync("create", id);
            Assert.Equal("notes/*", created.Topic);
            Assert.Equal("first", created.Record.GetProperty("title").GetString());
        }

        await pocketBase.Admin.UpdateRecordAsync("notes", id, new { title = "second" }, alice.Token).DefaultTimeout();
        foreach (var tab in tabs)
        {
            Assert.Equal("second", (await tab.NextEventAsync("update", id)).Record.GetProperty("title").GetString());
        }

        // A burst without waiting in between: every tab must see the burst in the same order, the order of the stream.
        const int Burst = 30;
        for (var i = 0; i < Burst; i++)
        {
            await pocketBase.Admin.UpdateRecordAsync("notes", id, new { title = $"burst-{i}" }, alice.Token).DefaultTimeout();
        }

        await pocketBase.Admin.DeleteRecordAsync("notes", id, alice.Token).DefaultTimeout();
        var sequences = new List<string[]>();
        foreach (var tab in tabs)
        {
            var received = new List<string>();
            for (var i = 0; i <= Burst; i++)
            {
                var next = await tab.NextEventAsync();
                Assert.Equal(id, next.Record.GetProperty("id").GetString());
                received.Add(next.Action + ":" + next.Record.GetProperty("title").GetString());
            }

            Assert.Equal("delete", received[^1].Split(':')[0]);
            Assert.Equal(Enumerable.Range(0, Burst).Select(i => $"update:burst-{i}").Order(), received[..^1].Order());
            sequences.Add([.. received]);
        }

        Assert.All(sequences, sequence => Assert.Equal(sequences[0], sequence));

        // Bob's first event must be his own note: had any of alice's reached him, it would be queued before it.
        var bobNote = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "bob's", owner = pocketBase.Bob.Id }, pocketBase.Bob.Token).DefaultTimeout();
        await bobTab.NextEventAsync("create", bobNote.GetProperty("id").GetString()!);
        await bobTab.AssertNoEventAsync();
        foreach (var tab in tabs)
        {
            await tab.AssertNoEventAsync(TimeSpan.Zero);
        }

        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task Announcements_ReachBothUsersAndGuest_SecretsReachNoOne()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var viewers = new[]
        {
            await relay.ConnectAsync(pocketBase.Alice.Token),
            await relay.ConnectAsync(pocketBase.Bob.Token),
            await relay.ConnectAsync(token: null),
        };
        foreach (var viewer in viewers)
        {
            await viewer.SubscribeAsync("secrets/*");
            await viewer.SubscribeAsync("announcements/*");
        }

        // The secret is created first: anyone it reached would see it before the announcement.
        await pocketBase.Admin.CreateRecordAsync("secrets", new { title = "for superusers only" }).DefaultTimeout();
        var announcement = await pocketBase.Admin.CreateRecordAsync("announcements", new { title = "hello all" }).DefaultTimeout();
        var id = announcement.GetProperty("id").GetString()!;

        foreach (var viewer in viewers)
        {
            var received = await viewer.NextEventAsync("create", id);
            Assert.Equal("announcements/*", received.Topic);
        }

        foreach (var viewer in viewers)
        {
            await viewer.AssertNoEventAsync();
        }

        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task Unsubscribe_StopsDeliveryToThatConnectionOnly()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var leaving = await relay.ConnectAsync(pocketBase.Alice.Token);
        var staying = await relay.ConnectAsync(pocketBase.Alice.Token);
        await leaving.SubscribeAsync("notes/*");
        await staying.SubscribeAsync("notes/*");

        var first = await CreateNoteAsync("before unsubscribe");
        await leaving.NextEventAsync("create", first);
        await staying.NextEventAsync("create", first);

        await leaving.UnsubscribeAsync("notes/*");
        var second = await CreateNoteAsync("after unsubscribe");
        await staying.NextEventAsync("create", second);
        await leaving.AssertNoEventAsync();

        // The last subscriber leaving removes the topic upstream as well.
        await staying.UnsubscribeAsync("notes/*");
        await CreateNoteAsync("nobody listens");
        await staying.AssertNoEventAsync();
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task RecordTopic_DeliversOnlyThatRecordsEvents()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var watched = await CreateNoteAsync("watched");
        var other = await CreateNoteAsync("other");
        var tab = await relay.ConnectAsync(pocketBase.Alice.Token);
        await tab.SubscribeAsync($"notes/{watched}");

        await pocketBase.Admin.UpdateRecordAsync("notes", other, new { title = "other changed" }, pocketBase.Alice.Token).DefaultTimeout();
        await pocketBase.Admin.UpdateRecordAsync("notes", watched, new { title = "watched changed" }, pocketBase.Alice.Token).DefaultTimeout();

        var update = await tab.NextEventAsync("update", watched);
        Assert.Equal($"notes/{watched}", update.Topic);
        await pocketBase.Admin.DeleteRecordAsync("notes", other, pocketBase.Alice.Token).DefaultTimeout();
        await pocketBase.Admin.DeleteRecordAsync("notes", watched, pocketBase.Alice.Token).DefaultTimeout();
        await tab.NextEventAsync("delete", watched);
        await tab.AssertNoEventAsync();
        relay.AssertNoErrorLogs();
    }

    [Fact]
    public async Task SubscriptionOptions_PassThroughToPocketBase()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var tab = await relay.ConnectAsync(pocketBase.Alice.Token);
        await tab.SubscribeAsync("notes/*", new Relay.Client.Protocol.SubscriptionOptions
        {
            Query = new Dictionary<string, string> { ["expand"] = "owner", ["fields"] = "id,title,expand.owner.email" },
        });

        var id = await CreateNoteAsync("with options");

        var created = await tab.NextEventAsync("create", id);
        Assert.Equal("notes/*", created.Topic);
        Assert.False(created.Record.TryGetProperty("owner", out _), "fields should have removed owner");
        Assert.Equal(pocketBase.Alice.Email, created.Record.GetProperty("expand").GetProperty("owner").GetProperty("email").GetString());
    }

    [Fact]
    public async Task MessagePackClient_ReceivesTheFullRecord()
    {
        await using var relay = RelayServer.Start(pocketBase.Server.Url);
        var json = await relay.ConnectAsync(pocketBase.Alice.Token);
        var messagePack = await relay.ConnectAsync(pocketBase.Alice.Token, messagePack: true);
        await json.SubscribeAsync("notes/*");
        await messagePack.SubscribeAsync("notes/*");

        var record = await pocketBase.Admin.CreateRecordAsync("notes", new { title = "packed ✓ \"quoted\"", owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        var id = record.GetProperty("id").GetString()!;

        var viaJson = await json.NextEventAsync("create", id);
        var viaMessagePack = await messagePack.NextEventAsync("create", id);
        Assert.Equal("notes/*", viaMessagePack.Topic);
        Assert.Equal(JsonValueKind.Object, viaMessagePack.Record.ValueKind);
        foreach (var field in new[] { "id", "title", "owner", "collectionId", "collectionName", "created", "updated" })
        {
            Assert.Equal(record.GetProperty(field).GetString(), viaMessagePack.Record.GetProperty(field).GetString());
        }

        Assert.Equal(Normalize(viaJson.Record), Normalize(viaMessagePack.Record));
        relay.AssertNoErrorLogs();
    }

    private static string Normalize(JsonElement element)
        => JsonSerializer.Serialize(element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).ToDictionary(p => p.Name, p => p.Value));

    private async Task<string> CreateNoteAsync(string title)
    {
        var record = await pocketBase.Admin.CreateRecordAsync("notes", new { title, owner = pocketBase.Alice.Id }, pocketBase.Alice.Token).DefaultTimeout();
        return record.GetProperty("id").GetString()!;
    }
}
