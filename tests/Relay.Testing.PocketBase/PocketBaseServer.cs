using System.Net;
using System.Net.Sockets;

namespace Relay.Testing.PocketBase;

/// <summary>
/// A running real PocketBase with a superuser (<see cref="SuperuserEmail"/>, <see cref="SuperuserPassword"/>), of the
/// version <c>RELAY_POCKETBASE_VERSION</c> asks for (<see cref="Version"/>). <c>RELAY_POCKETBASE_MODE</c> =
/// <c>container</c> or <c>process</c> forces a mode; unset, a container is used when a Docker engine answers and a
/// local process otherwise.
/// </summary>
public sealed class PocketBaseServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly IPocketBaseHost _host;

    private PocketBaseServer(IPocketBaseHost host, PocketBaseAdmin admin)
    {
        _host = host;
        Admin = admin;
    }

    public Uri Url => _host.Url;

    /// <summary><c>container</c> or <c>process</c>.</summary>
    public string Mode => _host.Mode;

    public PocketBaseAdmin Admin { get; }

    /// <summary>The running PocketBase's version: branch on its properties where 0.22 and 0.23+ really differ.</summary>
    public PocketBaseVersion Version => Admin.Version;

    public string SuperuserEmail => PocketBaseAdmin.Email;

    public string SuperuserPassword => PocketBaseAdmin.Password;

    /// <summary>The PocketBase process id in process mode (benchmarks read its CPU time); null in a container.</summary>
    public int? ProcessId => _host.ProcessId;

    /// <summary>The data folder in process mode (the benchmark seeds thousands of users straight into its SQLite); null in a container.</summary>
    public string? DataDirectory => _host.DataDirectory;

    /// <param name="mode"><c>container</c>, <c>process</c>, or null for <c>RELAY_POCKETBASE_MODE</c>.</param>
    /// <param name="version">Null for <c>RELAY_POCKETBASE_VERSION</c>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<PocketBaseServer> StartAsync(string? mode = null, PocketBaseVersion? version = null, CancellationToken cancellationToken = default)
    {
        mode ??= Environment.GetEnvironmentVariable("RELAY_POCKETBASE_MODE");
        version ??= PocketBaseVersion.Configured;
        var binary = PocketBaseBinary.Locate(version);
        var port = FreePort();
        // 0.22's `admin create` needs the system migrations applied first (and exits 0 even when it fails: the sign-in
        // below is what checks it); 0.23+'s `superuser upsert` bootstraps the data itself.
        string[][] superuser = version.HasSuperuserCollection
            ? [["superuser", "upsert", PocketBaseAdmin.Email, PocketBaseAdmin.Password]]
            : [["migrate", "up"], ["admin", "create", PocketBaseAdmin.Email, PocketBaseAdmin.Password]];
        IPocketBaseHost host;
        if (mode == "process" || (mode is null or "" && !ContainerHost.EngineAvailable()))
        {
            host = await ProcessHost.StartAsync(binary, port, superuser, cancellationToken);
        }
        else if (mode == "container")
        {
            host = await ContainerHost.StartAsync(binary, version, port, superuser, cancellationToken);
        }
        else if (mode is null or "")
        {
            try
            {
                host = await ContainerHost.StartAsync(binary, version, port, superuser, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Auto mode promises tests that run anywhere: an engine that answers but cannot run the image is
                // reported, not fatal. CI forces "container", where this would be a failure.
                await Console.Error.WriteLineAsync($"PocketBase container unavailable ({ex.GetType().Name}: {ex.Message}); running it as a process.");
                host = await ProcessHost.StartAsync(binary, port, superuser, cancellationToken);
            }
        }
        else
        {
            throw new ArgumentException($"RELAY_POCKETBASE_MODE must be 'container' or 'process', not '{mode}'.", nameof(mode));
        }

        try
        {
            await WaitForHealthAsync(host, cancellationToken);
            return new PocketBaseServer(host, await PocketBaseAdmin.SignInAsync(host.Url, version, cancellationToken));
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops PocketBase; every realtime stream to it ends. Data and URL are kept for <see cref="StartAgainAsync"/>.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _host.StopAsync(cancellationToken);

    /// <summary>Kills PocketBase with SIGKILL, as a crash would. Data and URL are kept for <see cref="StartAgainAsync"/>.</summary>
    public Task KillAsync(CancellationToken cancellationToken = default) => _host.KillAsync(cancellationToken);

    /// <summary>Runs a PocketBase command against this instance's data (e.g. <c>superuser upsert</c>), beside the running server.</summary>
    public Task<(int ExitCode, string Output)> RunCommandAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken = default)
        => _host.RunCommandAsync(arguments, cancellationToken);

    /// <summary>Starts PocketBase again on the same URL with the same data.</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        await _host.StartAgainAsync(cancellationToken);
        await WaitForHealthAsync(_host, cancellationToken);
        await Admin.LoginAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await _host.DisposeAsync();
    }

    /// <summary>A loopback port free right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForHealthAsync(IPocketBaseHost host, CancellationToken cancellationToken)
    {
        try
        {
            await HttpHealth.WaitAsync(new Uri(host.Url, "api/health"), StartTimeout, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"PocketBase ({host.Mode}): {ex.Message} Its output:\n{host.RecentOutput()}", ex);
        }
    }
}
