using Xunit.Abstractions;
using Xunit.Sdk;

namespace Relay.IntegrationTests.Infrastructure;

/// <summary>Discovers an <see cref="OptInFactAttribute"/> test as a plain fact when its setting is <c>1</c>, and not at all otherwise.</summary>
public sealed class OptInFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    private readonly FactDiscoverer _fact = new(diagnosticMessageSink);

    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var setting = factAttribute.GetConstructorArguments().Single() as string;
        return setting is not null && Environment.GetEnvironmentVariable(setting) == "1"
            ? _fact.Discover(discoveryOptions, testMethod, factAttribute)
            : [];
    }
}
