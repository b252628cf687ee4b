using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// A loopback load balancer in front of several Relay instances: each new TCP connection goes to the next instance in
/// rotation, no stickiness (as the compose profile's nginx). <see cref="CutRandom"/> drops client connections the way a
/// flaky network or a load balancer reload does.
/// </summary>
public sealed class RoundRobinForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<Uri> _targets = [];
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _open = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private int _accepted;
    private int _cut;
    private int _next;

    public RoundRobinForwarder()
    {
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = AcceptAsync();
    }

    public Uri Url { get; }

    /// <summary>Client connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Client connections dropped by <see cref="CutRandom"/> so far.</summary>
    public int Cut => Volatile.Read(ref _cut);

    public void Add(Uri target)
    {
        lock (_targets)
        {
            _targets.Add(target);
        }
    }

    /// <summary>Takes <paramref name="target"/> out of rotation (as a failed health check would); its open connections stay.</summary>
    public void Remove(Uri target)
    {
        lock (_targets)
        {
            _targets.Remove(target);
        }
    }

    /// <summary>Drops up to <paramref name="count"/> forwarded connections picked at random (both sides closed at once).</summary>
    public int CutRandom(int count, Random random)
    {
        var open = _open.Keys.ToArray();
        random.Shuffle(open);
        var cut = 0;
        foreach (var client in open.Take(count))
        {
            if (_open.TryRemove(client, out var server))
            {
                client.Dispose();
                server.Dispose();
                cut++;
            }
        }

        Interlocked.Add(ref _cut, cut);
        return cut;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var (client, server) in _open)
        {
            client.Dispose();
            server.Dispose();
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            Uri? target;
            lock (_targets)
            {
                target = _targets.Count == 0 ? null : _targets[_next++ % _targets.Count];
            }

            if (target is null)
            {
                // Nothing in rotation: the client retries, as behind a load balancer with every backend down.
                client.Dispose();
                continue;
            }

            Interlocked.Increment(ref _accepted);
            _ = ForwardAsync(client, target);
        }
    }

    private async Task ForwardAsync(TcpClient client, Uri target)
    {
        var server = new TcpClient();
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, target.Port, _stopping.Token);
            _open[client] = server;
            await Task.WhenAny(
                client.GetStream().CopyToAsync(server.GetStream(), _stopping.Token),
                server.GetStream().CopyToAsync(client.GetStream(), _stopping.Token));
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException or InvalidOperationException)
        {
            // One side went away (or the instance is already down: the client retries).
        }
        finally
        {
            _open.TryRemove(client, out _);
            client.Dispose();
            server.Dispose();
        }
    }
}
