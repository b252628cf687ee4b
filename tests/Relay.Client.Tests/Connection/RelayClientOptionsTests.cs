using Microsoft.AspNetCore.Http.Connections;

namespace Relay.Client.Tests.Connection;

public class RelayClientOptionsTests
{
    private static readonly Uri Url = new("http://relay.test/");

    [Fact]
    public void Constructor_NullOptions_ThrowsArgumentNull() => Assert.Throws<ArgumentNullException>(() => new RelayClient(null!));

    [Fact]
    public void Constructor_MissingUrl_ThrowsNamingUrl()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions()));
        Assert.Equal("Url", ex.ParamName);
        Assert.Contains("RelayClientOptions.Url", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_RelativeOrNonHttpUrl_Throws()
    {
        Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = new Uri("/relative", UriKind.Relative) }));
        Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = new Uri("ws://relay.test/") }));
    }

    [Fact]
    public void Constructor_BadDelays_ThrowsNamingTheDelay()
    {
        Assert.Equal("ReconnectBaseDelay", Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = Url, ReconnectBaseDelay = TimeSpan.Zero })).ParamName);
        Assert.Equal("ReconnectMaxDelay", Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = Url, ReconnectBaseDelay = TimeSpan.FromSeconds(5), ReconnectMaxDelay = TimeSpan.FromSeconds(1) })).ParamName);
        Assert.Equal("ReconnectMaxDelay", Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = Url, ReconnectMaxDelay = TimeSpan.MaxValue })).ParamName);
    }

    [Fact]
    public void Constructor_NoTransport_ThrowsNamingTransports()
        => Assert.Equal("Transports", Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = Url, Transports = HttpTransportType.None })).ParamName);

    [Fact]
    public void Defaults_AreDocumentedValues()
    {
        var options = new RelayClientOptions();

        Assert.Null(options.Url);
        Assert.Null(options.AccessTokenProvider);
        Assert.False(options.UseMessagePack);
        Assert.Equal(HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling, options.Transports);
        Assert.Equal(TimeSpan.FromMilliseconds(200), options.ReconnectBaseDelay);
        Assert.Equal(TimeSpan.FromSeconds(10), options.ReconnectMaxDelay);
        Assert.Equal(TimeSpan.FromMilliseconds(10), options.SubscribeBatchDelay);
        Assert.True(options.StartWithHost);
        Assert.Same(TimeProvider.System, options.TimeProvider);
        Assert.Null(options.LoggerFactory);
        Assert.Null(options.ConfigureConnection);
    }

    [Theory]
    [InlineData("http://relay.test", "http://relay.test/realtime?relay_protocol=2")]
    [InlineData("http://relay.test/", "http://relay.test/realtime?relay_protocol=2")]
    [InlineData("https://example.test:8443/relay", "https://example.test:8443/relay/realtime?relay_protocol=2")]
    [InlineData("https://example.test/relay/?tenant=a", "https://example.test/relay/realtime?tenant=a&relay_protocol=2")]
    public void GetHubUrl_AppendsHubPathKeepingBasePathAndDeclaresProtocolVersion(string url, string expected)
        => Assert.Equal(new Uri(expected), new RelayClientOptions { Url = new Uri(url) }.GetHubUrl());

    [Fact]
    public void Constructor_BadBatchDelay_ThrowsNamingIt()
    {
        Assert.Equal("SubscribeBatchDelay", Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = Url, SubscribeBatchDelay = TimeSpan.FromSeconds(-1) })).ParamName);
        Assert.Equal("SubscribeBatchDelay", Assert.Throws<ArgumentException>(() => new RelayClient(new RelayClientOptions { Url = Url, SubscribeBatchDelay = TimeSpan.FromSeconds(2) })).ParamName);
    }

    [Fact]
    public async Task SubscribeAsync_BeforeStart_WaitsAndCancellationReleasesIt()
    {
        await using var client = new RelayClient(new RelayClientOptions { Url = Url });
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SubscribeAsync("notes/*", _ => Task.CompletedTask, cancellationToken: cancellation.Token)).WaitAsync(TimeSpan.FromSeconds(10));
        // Released: the same topic with other options is a new topic, not a conflict.
        using var again = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SubscribeAsync(
            "notes/*", _ => Task.CompletedTask, new Relay.Client.Protocol.SubscriptionOptions { Query = new Dictionary<string, string> { ["a"] = "b" } }, again.Token)).WaitAsync(TimeSpan.FromSeconds(10));
    }
}
