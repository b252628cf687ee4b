using Xunit.Sdk;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>
/// A test too long for any default run (e.g. 32 minutes of real time): discovered only when the environment variable
/// <see cref="Setting"/> is <c>1</c>, so a run that does not ask for it neither runs nor skips it (a skip would read as
/// a failure in CI). Tag it with a Category as well, to run it alone.
/// </summary>
[XunitTestCaseDiscoverer("Relay.IntegrationTests.Infrastructure.OptInFactDiscoverer", "Relay.IntegrationTests")]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class OptInFactAttribute(string setting) : FactAttribute
{
    public string Setting { get; } = setting;
}
