using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Relay.Bench;

/// <summary>
/// Debian's <c>redis-server</c> as a process on a free loopback port, no persistence: never the system service on 6379
/// (a small copy of the integration tests' <c>RedisProcess</c>).
/// </summary>
internal sealed class BenchRedis : IAsyncDisposable
{
    private static readonly string[] Binaries = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"];
    private readonly Process _process;

    private BenchRedis(Process process, int port)
    {
        _process = process;
        Configuration = $"127.0.0.1:{port}";
        Port = port;
    }

    public string Configuration { get; }

    public int Port { get; }

    public int Pid => _process.Id;

    public static async Task<BenchRedis> StartAsync()
    {
        var binary = Binaries.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed (apt-get install redis-server).");
        var port = Relay.Testing.PocketBase.PocketBaseServer.FreePort();
        var process = Process.Start(new ProcessStartInfo(binary)
        {
            ArgumentList = { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", Path.GetTempPath() },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new BenchRedis(process, port);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await redis.PingAsync())
        {
            if (DateTime.UtcNow > deadline || process.HasExited)
            {
                await redis.DisposeAsync();
                throw new InvalidOperationException($"redis-server did not answer PING on port {port}.");
            }

            await Task.Delay(50);
        }

        return redis;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        _process.Dispose();
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port).WaitAsync(TimeSpan.FromSeconds(1));
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(1));
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }
}
