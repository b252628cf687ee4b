using System.Diagnostics;
using System.Globalization;
using Relay.Testing.PocketBase;

namespace Relay.Bench;

/// <summary>The <see cref="BareBroadcaster"/> as a process of its own, so its CPU is read apart from Relay's and the clients'.</summary>
internal sealed class BareBroadcasterProcess : IAsyncDisposable
{
    private readonly Process _process;

    private BareBroadcasterProcess(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    public Uri Url { get; }

    public int Pid => _process.Id;

    public static async Task<BareBroadcasterProcess> StartAsync(Uri pocketBase, string topic)
    {
        var port = PocketBaseServer.FreePort();
        var start = new ProcessStartInfo(Environment.ProcessPath!, [typeof(BareBroadcaster).Assembly.Location, "--bare-broadcaster", "--pocketbase", pocketBase.ToString(), "--port", port.ToString(CultureInfo.InvariantCulture), "--topic", topic])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        start.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(start)!;
        var bare = new BareBroadcasterProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        try
        {
            var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            if (ready != "ready")
            {
                throw new InvalidOperationException($"The bare broadcaster said '{ready}' instead of ready (exit code {(process.HasExited ? process.ExitCode : -1)}).");
            }

            return bare;
        }
        catch
        {
            await bare.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await _process.StandardInput.WriteLineAsync("quit");
                await _process.StandardInput.FlushAsync();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            }
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or InvalidOperationException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
