using System.Net;
using System.Net.Sockets;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// A loopback TCP link (one Relay instance to Redis) that can be cut for a while as a network partition cuts it: during
/// <see cref="CutAsync"/> nothing crosses in either direction and nothing is closed (no FIN, no RST: the peers only see
/// silence, and their own timeouts), new connections are accepted but not put through; when the cut heals, what was
/// held goes through in order, as TCP's retransmissions would deliver it. Also survives its target restarting (Redis
/// killed and started again on the same port): connections to the old one end, new ones reach the new one.
/// </summary>
public sealed class BlackholeProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private readonly List<TcpClient> _sockets = [];
    private Task _open = Task.CompletedTask;

    public BlackholeProxy(int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Silences the link for <paramref name="duration"/>, then lets everything held through.</summary>
    public async Task CutAsync(TimeSpan duration)
    {
        var healed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _open, healed.Task);
        try
        {
            await Task.Delay(duration);
        }
        finally
        {
            Volatile.Write(ref _open, Task.CompletedTask);
            healed.SetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        var server = new TcpClient();
        Track(client, server);
        try
        {
            // A connection made during a cut waits, as a SYN into a partition does, until it heals (or the peer gives up).
            await Volatile.Read(ref _open).WaitAsync(_stopping.Token);
            await server.ConnectAsync(_target, _stopping.Token);
            await Task.WhenAny(PumpAsync(client.GetStream(), server.GetStream()), PumpAsync(server.GetStream(), client.GetStream()));
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // The target is down (Redis restarting) or one side went away: the instance reconnects.
        }
        finally
        {
            client.Dispose();
            server.Dispose();
            lock (_sockets)
            {
                _sockets.Remove(client);
                _sockets.Remove(server);
            }
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, _stopping.Token)) > 0)
        {
            // Held while cut: the bytes already read wait here and the sender's buffers fill up behind them.
            await Volatile.Read(ref _open).WaitAsync(_stopping.Token);
            await to.WriteAsync(buffer.AsMemory(0, read), _stopping.Token);
        }
    }

    private void Track(params TcpClient[] sockets)
    {
        lock (_sockets)
        {
            _sockets.AddRange(sockets);
        }
    }
}
