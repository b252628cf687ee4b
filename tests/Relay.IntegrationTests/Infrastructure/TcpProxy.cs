using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// A loopback TCP forwarder between Relay and PocketBase. <see cref="CloseAll"/> ends every forwarded connection with
/// a clean FIN, the way PocketBase ends a stream at its idle or lifetime limit.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _pairs = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private int _accepted;

    public TcpProxy(Uri target)
    {
        _target = new IPEndPoint(IPAddress.Parse(target.Host), target.Port);
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = AcceptAsync();
    }

    public Uri Url { get; }

    public int Open => _pairs.Count;

    /// <summary>Connections accepted so far: zero proves nothing was sent to the target.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>While set, new connections are closed as soon as they are accepted (the network is down).</summary>
    public bool Refusing { get; set; }

    /// <summary>Closes every connection currently forwarded; new ones are still accepted.</summary>
    public void CloseAll()
    {
        foreach (var (client, server) in _pairs)
        {
            _pairs.TryRemove(client, out _);
            client.Client.Shutdown(SocketShutdown.Both);
            client.Dispose();
            server.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        CloseAll();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            if (Refusing)
            {
                client.Dispose();
                continue;
            }

            Interlocked.Increment(ref _accepted);
            var server = new TcpClient();
            await server.ConnectAsync(_target, _stopping.Token);
            _pairs[client] = server;
            _ = PumpAsync(client, server);
        }
    }

    private async Task PumpAsync(TcpClient client, TcpClient server)
    {
        try
        {
            await Task.WhenAny(
                client.GetStream().CopyToAsync(server.GetStream(), _stopping.Token),
                server.GetStream().CopyToAsync(client.GetStream(), _stopping.Token));
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // One side went away.
        }
        finally
        {
            _pairs.TryRemove(client, out _);
            client.Dispose();
            server.Dispose();
        }
    }
}
