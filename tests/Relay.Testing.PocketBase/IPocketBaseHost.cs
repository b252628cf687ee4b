namespace Relay.Testing.PocketBase;

internal interface IPocketBaseHost : IAsyncDisposable
{
    Uri Url { get; }

    string Mode { get; }

    Task StopAsync(CancellationToken cancellationToken);

    Task KillAsync(CancellationToken cancellationToken);

    Task StartAgainAsync(CancellationToken cancellationToken);

    string RecentOutput();
}
