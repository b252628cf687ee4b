using Relay.Testing.PocketBase;

namespace Relay.Bench;

/// <summary>A real PocketBase (process mode, so its CPU can be read) with the bench schema, and Relay's Release build as a separate process.</summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    private BenchEnvironment(PocketBaseServer pocketBase, RelayInstance relay, string? relayDll)
    {
        PocketBase = pocketBase;
        Relay = relay;
        RelayDll = relayDll;
    }

    public RelayInstance Relay { get; }

    /// <summary>The Relay build under test (null: this checkout's), for extra instances (cluster scenarios).</summary>
    public string? RelayDll { get; }

    public PocketBaseServer PocketBase { get; }

    public Uri RelayUrl => Relay.Url;

    public int RelayPid => Relay.Pid;

    public int PocketBasePid => PocketBase.ProcessId ?? throw new InvalidOperationException("PocketBase must run as a process.");

    /// <param name="relayDll">Relay.dll to run (another build, e.g. an older commit's, for before/after); default: this checkout's Release build.</param>
    /// <param name="relayEnvironment">Extra environment of the Relay under test (e.g. a runtime knob for an A/B run).</param>
    public static async Task<BenchEnvironment> StartAsync(string? relayDll = null, IReadOnlyDictionary<string, string>? relayEnvironment = null)
    {
        var pocketBase = await PocketBaseServer.StartAsync("process");
        await pocketBase.Admin.CreateCollectionAsync(new CollectionDefinition(
            "bench_notes", FieldDefinition.Text("title"), FieldDefinition.Number("sentAt"), FieldDefinition.Relation("owner", "users", required: true))
        {
            CreateRule = "owner = @request.auth.id",
        }.WithReadRule("owner = @request.auth.id"));
        await pocketBase.Admin.CreateCollectionAsync(
            new CollectionDefinition("bench_public", FieldDefinition.Text("title"), FieldDefinition.Number("sentAt")).WithReadRule(""));
        // The `users` scenario (issue #22): every signed-in user sees every record, so every user's stream carries the same events.
        await pocketBase.Admin.CreateCollectionAsync(
            new CollectionDefinition("bench_signed_in", FieldDefinition.Text("title"), FieldDefinition.Number("sentAt")).WithReadRule("@request.auth.id != \"\""));

        var relay = await RelayInstance.StartAsync(pocketBase.Url, relayDll, relayEnvironment);
        return new BenchEnvironment(pocketBase, relay, relayDll);
    }

    /// <summary>The throughput scenario's limit reference, once <see cref="StartBareAsync"/> started it.</summary>
    public BareBroadcasterProcess? Bare { get; private set; }

    public async Task StartBareAsync() => Bare ??= await BareBroadcasterProcess.StartAsync(PocketBase.Url, "bench_public/*");

    /// <summary>Relay's own count of open PocketBase streams, scraped from its Prometheus endpoint.</summary>
    public int UpstreamStreams() => Relay.UpstreamStreams();

    public async ValueTask DisposeAsync()
    {
        if (Bare is not null)
        {
            await Bare.DisposeAsync();
        }

        await Relay.DisposeAsync();
        await PocketBase.DisposeAsync();
    }
}
