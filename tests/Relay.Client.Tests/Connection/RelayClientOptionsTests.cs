using Microsoft.AspNetCore.Http.Connections;

namespace Relay.Client.Tests.Connection;

public class RelayClientOptionsTests
{
    [Fact]
    public void Constructor_MissingUrl_ThrowsNamingUrl()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions()));
        Assert.Equal("Url", ex.ParamName);
    }

    [Fact]
    public void Constructor_RelativeOrNonHttpUrl_Throws()
    {
        Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = new Uri("/relative", UriKind.Relative) }));
        Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = new Uri("ws://relay.test/") }));
    }

    [Fact]
    public void Constructor_BadDelaysOrNoTransport_Throws()
    {
        var url = new Uri("http://relay.test/");
        Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = url, ReconnectBaseDelay = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = url, ReconnectBaseDelay = TimeSpan.FromSeconds(5), ReconnectMaxDelay = TimeSpan.FromSeconds(1) }));
        Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = url, Transports = HttpTransportType.None }));
    }

    [Fact]
    public async Task SubscribeAsync_BeforeStart_ThrowsInvalidOperation()
    {
        await using var client = new RelayClient(new RelayClientOptions { Url = new Uri("http://relay.test/") });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => client.SubscribeAsync("notes/*", _ => Task.CompletedTask));
        Assert.Contains("Disconnected", ex.Message, StringComparison.Ordinal);
    }
}
