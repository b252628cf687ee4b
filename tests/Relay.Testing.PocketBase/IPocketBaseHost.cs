namespace Relay.Testing.PocketBase;

internal interface IPocketBaseHost : IAsyncDisposable
{
    Uri Url { get; }

    string Mode { get; }

    /// <summary>The PocketBase process id when it runs as a local process; null in a container.</summary>
    int? ProcessId { get; }

    /// <summary>The PocketBase data folder (<c>pb_data</c>) when it runs as a local process; null in a container.</summary>
    string? DataDirectory { get; }

    Task StopAsync(CancellationToken cancellationToken);

    Task KillAsync(CancellationToken cancellationToken);

    Task StartAgainAsync(CancellationToken cancellationToken);

    string RecentOutput();

    /// <summary>Runs a PocketBase command (e.g. <c>superuser upsert</c>) against this instance's data.</summary>
    Task<(int ExitCode, string Output)> RunCommandAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken);
}
