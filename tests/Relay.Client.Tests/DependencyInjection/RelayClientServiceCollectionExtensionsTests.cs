using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Relay.Client.Tests.Infrastructure;

namespace Relay.Client.Tests.DependencyInjection;

public sealed class RelayClientServiceCollectionExtensionsTests
{
    private static IHost BuildHost(Dictionary<string, string?> settings, Action<IServiceProvider, RelayClientOptions>? configure = null, FakeLogCollector? logs = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Debug);
        if (logs is not null)
        {
            builder.Logging.AddProvider(new FakeLoggerProvider(logs));
        }

        builder.Services.AddRelayClient(builder.Configuration.GetSection("RelayClient"), configure);
        return builder.Build();
    }

    [Fact]
    public async Task AddRelayClient_FromConfiguration_BoundStartedWithTheHostAndOneInstance()
    {
        await using var relay = await FakeRelay.StartAsync();
        var logs = new FakeLogCollector();
        using var host = BuildHost(
            new()
            {
                ["RelayClient:Url"] = relay.Url.ToString(),
                ["RelayClient:ReconnectBaseDelay"] = "00:00:00.020",
                ["RelayClient:ReconnectMaxDelay"] = "00:00:00.100",
                ["RelayClient:SubscribeBatchDelay"] = "00:00:00.005",
                ["RelayClient:UseMessagePack"] = "true",
            },
            (_, options) => options.AccessTokenProvider = _ => ValueTask.FromResult<string?>("token-from-di"),
            logs);

        var options = host.Services.GetRequiredService<IOptions<RelayClientOptions>>().Value;
        Assert.Equal(TimeSpan.FromMilliseconds(20), options.ReconnectBaseDelay);
        Assert.True(options.UseMessagePack);
        Assert.NotNull(options.LoggerFactory);
        var client = host.Services.GetRequiredService<RelayClient>();
        Assert.Same(client, host.Services.GetRequiredService<IRelayConnection>());

        // Subscribing before the background start has connected waits for it.
        var subscribing = client.SubscribeAsync("notes/*", _ => Task.CompletedTask);
        await host.StartAsync().DefaultTimeout();
        await using var subscription = await subscribing.DefaultTimeout();

        var connection = await relay.WaitForConnectionAsync(1);
        Assert.Equal("token-from-di", connection.BearerToken ?? connection.QueryToken);
        Assert.Equal(HubConnectionState.Connected, client.State);
        // The client logs through the app's logging.
        Assert.Contains(logs.GetSnapshot(), r => r.Category?.StartsWith("Microsoft.AspNetCore.SignalR.Client", StringComparison.Ordinal) == true);
        await host.StopAsync().DefaultTimeout();
    }

    [Fact]
    public async Task AddRelayClient_StartWithHostFalse_NothingConnectsUntilTheAppStartsIt()
    {
        await using var relay = await FakeRelay.StartAsync();
        using var host = BuildHost(new() { ["RelayClient:Url"] = relay.Url.ToString(), ["RelayClient:StartWithHost"] = "false" });

        await host.StartAsync().DefaultTimeout();
        await Task.Delay(TestTimeouts.Quiet);
        Assert.Empty(relay.Connected);

        await host.Services.GetRequiredService<IRelayConnection>().StartAsync().DefaultTimeout();
        await relay.WaitForConnectionAsync(1);
        await host.StopAsync().DefaultTimeout();
    }

    [Fact]
    public async Task AddRelayClient_InvalidUrl_HostStartFailsNamingTheOptionAndValue()
    {
        using var host = BuildHost(new() { ["RelayClient:Url"] = "ws://relay.test/" });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync()).DefaultTimeout();

        Assert.Contains("RelayClientOptions.Url", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ws://relay.test/", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddRelayClient_TokenRefused_HostKeepsRunningAndTheRefusalIsLogged()
    {
        await using var relay = await FakeRelay.StartAsync();
        var logs = new FakeLogCollector();
        using var host = BuildHost(
            new() { ["RelayClient:Url"] = relay.Url.ToString() },
            (_, options) => options.AccessTokenProvider = _ => ValueTask.FromResult<string?>(FakeRelay.RejectedToken),
            logs);

        await host.StartAsync().DefaultTimeout();

        await TestTimeouts.WaitUntilAsync(() => logs.GetSnapshot().Any(r => r.Category == "Relay.Client.DependencyInjection.RelayClientHostedService" && r.Level == LogLevel.Error), "the refusal is logged");
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Message.Contains(FakeRelay.RejectedToken, StringComparison.Ordinal));
        await host.StopAsync().DefaultTimeout();
    }
}
