using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Relay.PocketBase;

namespace Relay.Tests.Upstream;

public sealed class PocketBaseSocketsTests
{
    [Fact]
    public async Task ConnectAsync_RealtimeConnection_HasTcpKeepAliveFromOptions()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var options = new PocketBaseOptions { TcpKeepAliveTime = TimeSpan.FromSeconds(25), TcpKeepAliveInterval = TimeSpan.FromSeconds(7) };

        await using var stream = (NetworkStream)await PocketBaseSockets.ConnectAsync(listener.LocalEndpoint, options, CancellationToken.None)
            .AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        using var accepted = await listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(10));

        var socket = stream.Socket;
        Assert.NotEqual(0, (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        Assert.Equal(25, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!);
        Assert.Equal(7, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval)!);
        Assert.Equal(3, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount)!);
    }

    [Fact]
    public void AddRelayUpstream_RealtimeClient_ConnectsThroughTheKeepAliveCallback()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Relay:PocketBase:Url"] = "http://127.0.0.1:1/" })
            .Build();
        using var provider = new ServiceCollection().AddLogging().AddRelayUpstream(configuration).BuildServiceProvider();

        var handler = provider.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(PocketBaseHttp.StreamClient);
        while (handler is DelegatingHandler delegating)
        {
            handler = delegating.InnerHandler!;
        }

        // Without the callback the realtime stream would use a plain socket: a half-open connection would go unnoticed.
        Assert.NotNull(Assert.IsType<SocketsHttpHandler>(handler).ConnectCallback);
    }
}
