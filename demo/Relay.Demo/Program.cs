using Relay.Demo;
using Relay.Testing.PocketBase;

var settings = DemoSettings.Parse(args);
using var stopping = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stopping.Cancel();
};

await HttpHealth.WaitAsync(new Uri(settings.PocketBase, "api/health"), TimeSpan.FromSeconds(60), stopping.Token);
await HttpHealth.WaitAsync(new Uri(settings.Relay, "health/ready"), TimeSpan.FromSeconds(60), stopping.Token);

if (settings.ComposeSmoke)
{
    return await ComposeSmoke.RunAsync(settings, settings.TokensFile, stopping.Token);
}

using var admin = await PocketBaseAdmin.ConnectAsync(settings.PocketBase, stopping.Token);
await admin.EnsureTestSchemaAsync(stopping.Token);
var alice = await admin.EnsureUserAsync("alice@demo.test", DemoSettings.UserPassword, stopping.Token);
var bob = await admin.EnsureUserAsync("bob@demo.test", DemoSettings.UserPassword, stopping.Token);
Console.WriteLine($"PocketBase {settings.PocketBase} (admin UI: {settings.PocketBase}_/ as {PocketBaseAdmin.Email} / {PocketBaseAdmin.Password})");
Console.WriteLine($"Relay      {settings.Relay}realtime   users: alice@demo.test, bob@demo.test / {DemoSettings.UserPassword}");
Console.WriteLine();

var clock = new StepClock();
var viewers = new List<Viewer>
{
    new("alice tab 1", alice.Token, ["notes/*", "announcements/*"]),
    new("alice tab 2", alice.Token, ["notes/*", "announcements/*"]),
    new("bob", bob.Token, ["notes/*", "announcements/*"]),
    new("guest", null, ["notes/*", "announcements/*"]),
};
await using var clients = new ClientGroup();
foreach (var viewer in viewers)
{
    await clients.ConnectAsync(settings.Relay, viewer, clock, stopping.Token);
}

Console.WriteLine("Each viewer subscribed to notes/* and announcements/*. PocketBase decides who sees what:");
Console.WriteLine("notes are visible to their owner only, announcements to everyone.\n");

async Task Step(string description, Func<Task<string>> action)
{
    Console.WriteLine($"> {description}");
    clock.Start();
    await action();
    await Task.Delay(400, stopping.Token);
}

string Id(System.Text.Json.JsonElement record) => record.GetProperty("id").GetString()!;

var noteId = string.Empty;
await Step("alice creates a note", async () => noteId = Id(await admin.CreateRecordAsync("notes", new { title = "Alice's note", owner = alice.Id }, alice.Token, stopping.Token)));
await Step("alice renames it", async () => Id(await admin.UpdateRecordAsync("notes", noteId, new { title = "Alice's renamed note" }, alice.Token, stopping.Token)));
await Step("bob creates a note", async () => Id(await admin.CreateRecordAsync("notes", new { title = "Bob's note", owner = bob.Id }, bob.Token, stopping.Token)));
await Step("the admin posts an announcement", async () => Id(await admin.CreateRecordAsync("announcements", new { title = "Hello everyone" }, cancellationToken: stopping.Token)));
await Step("alice deletes her note", async () =>
{
    await admin.DeleteRecordAsync("notes", noteId, alice.Token, stopping.Token);
    return noteId;
});

Console.WriteLine();
foreach (var viewer in viewers)
{
    Console.WriteLine($"{viewer.Name,-12} received {viewer.Received} events");
}

if (settings.Once)
{
    var expected = new Dictionary<string, int> { ["alice tab 1"] = 4, ["alice tab 2"] = 4, ["bob"] = 2, ["guest"] = 1 };
    var wrong = viewers.Where(v => v.Received != expected[v.Name]).ToList();
    Console.WriteLine(wrong.Count == 0 ? "demo: OK" : $"demo: FAILED ({string.Join(", ", wrong.Select(v => $"{v.Name} got {v.Received}, expected {expected[v.Name]}"))})");
    return wrong.Count == 0 ? 0 : 1;
}

Console.WriteLine("\nWatching. Change records in the PocketBase admin UI and see who receives them. Ctrl+C stops.");
try
{
    await Task.Delay(Timeout.Infinite, stopping.Token);
}
catch (OperationCanceledException)
{
}

return 0;
