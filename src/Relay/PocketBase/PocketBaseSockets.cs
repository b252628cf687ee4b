using System.Net;
using System.Net.Sockets;

namespace Relay.PocketBase;

/// <summary>How Relay opens its realtime connections to PocketBase.</summary>
internal static class PocketBaseSockets
{
    private const int KeepAliveRetryCount = 3;

    /// <summary>
    /// A connect callback that turns on TCP keep-alive, so a half-open realtime connection fails its read within
    /// <see cref="PocketBaseOptions.TcpKeepAliveTime"/> + 3 × <see cref="PocketBaseOptions.TcpKeepAliveInterval"/> of silence
    /// and is handled as the unplanned loss (with its <c>Resync</c>) it is.
    /// </summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> KeepAliveConnectCallback(PocketBaseOptions options)
        => (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, options, cancellationToken);

    internal static async ValueTask<Stream> ConnectAsync(EndPoint endPoint, PocketBaseOptions options, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)Math.Ceiling(options.TcpKeepAliveTime.TotalSeconds));
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)Math.Ceiling(options.TcpKeepAliveInterval.TotalSeconds));
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, KeepAliveRetryCount);
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
