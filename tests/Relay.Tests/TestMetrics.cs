using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Relay.Diagnostics;

namespace Relay.Tests;

/// <summary>A real <see cref="RelayMetrics"/> on a private meter factory, so collectors see only this test's measurements.</summary>
internal sealed class TestMetrics : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public TestMetrics(TimeProvider? timeProvider = null)
    {
        MeterFactory = _services.GetRequiredService<IMeterFactory>();
        Metrics = new RelayMetrics(MeterFactory, timeProvider ?? TimeProvider.System);
    }

    public IMeterFactory MeterFactory { get; }

    public RelayMetrics Metrics { get; }

    public void Dispose() => _services.Dispose();
}
