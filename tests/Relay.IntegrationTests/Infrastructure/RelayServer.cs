using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>Relay itself (its real Program) on real Kestrel at a loopback port, with settings for one test.</summary>
public sealed class RelayServer : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;
    private readonly List<TestConnection> _connections = [];

    private RelayServer(WebApplicationFactory<Program> factory, CapturedLogs logs)
    {
        _factory = factory;
        Logs = logs;
    }

    public Uri Url { get; private set; } = null!;

    public CapturedLogs Logs { get; }

    public IServiceProvider Services => _factory.Services;

    public static RelayServer Start(Uri pocketBaseUrl, IDictionary<string, string?>? settings = null, int port = 0, string environment = "Development")
    {
        var logs = new CapturedLogs();
        var configuration = new Dictionary<string, string?>
        {
            ["Relay:PocketBase:Url"] = pocketBaseUrl.ToString(),
            ["Serilog:MinimumLevel:Default"] = "Debug",
            // Tests read the logs through CapturedLogs; the console stays quiet.
            ["Serilog:ConsoleFormat"] = "none",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment(environment);
            // A port of its own for every host: tests and benchmarks may run several side by side.
            builder.UseSetting("urls", $"http://127.0.0.1:{port}");
            builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(configuration));
            builder.ConfigureLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        });
        factory.UseKestrel();
        factory.StartServer();

        var server = new RelayServer(factory, logs);
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
        return server;
    }

    public async Task<TestConnection> ConnectAsync(string? token, bool messagePack = false)
    {
        var connection = await TestConnection.StartAsync(Url, token, messagePack).DefaultTimeout();
        lock (_connections)
        {
            _connections.Add(connection);
        }

        return connection;
    }

    /// <summary>Reads one of Relay's gauges now, summing the measurements that match <paramref name="tag"/>.</summary>
    public long Gauge(string instrument, KeyValuePair<string, object?>? tag = null)
    {
        using var collector = new MetricCollector<long>(Services.GetRequiredService<IMeterFactory>(), "Relay", instrument);
        collector.RecordObservableInstruments();
        return collector.GetMeasurementSnapshot()
            .Where(m => tag is null || m.Tags.Contains(tag.Value))
            .Sum(m => m.Value);
    }

    /// <summary>Polls a gauge until it shows <paramref name="expected"/>; the state it reflects settles asynchronously.</summary>
    public async Task WaitForGaugeAsync(string instrument, long expected, KeyValuePair<string, object?>? tag = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TestTimeouts.Default);
        long actual;
        while ((actual = Gauge(instrument, tag)) != expected)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{instrument}{(tag is null ? "" : $"{{{tag.Value.Key}={tag.Value.Value}}}")} stayed at {actual}, expected {expected}.");
            }

            await Task.Delay(50);
        }
    }

    public void AssertNoErrorLogs()
    {
        var errors = Logs.Entries.Where(e => e.Level >= LogLevel.Error).ToList();
        Assert.True(errors.Count == 0, "Unexpected error logs:\n" + string.Join("\n", errors.Select(e => $"{e.Category}: {e.Text}")));
    }

    /// <summary>Stops the host as SIGTERM would (graceful shutdown), leaving the test's client connections to react.</summary>
    public async Task StopAsync()
    {
        await _factory.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHost>().StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        TestConnection[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections.Select(c => c.DisposeAsync().AsTask())).WaitAsync(TimeSpan.FromSeconds(30));
        await _factory.DisposeAsync();
    }
}
