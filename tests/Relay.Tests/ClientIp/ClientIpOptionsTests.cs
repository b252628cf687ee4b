using System.ComponentModel.DataAnnotations;
using Relay.ClientIp;

namespace Relay.Tests.ClientIp;

public class ClientIpOptionsTests
{
    [Fact]
    public void ForwardedHeaders_BadProxyOrNetwork_NamesTheKey()
    {
        var settings = new ForwardedHeadersSettings { KnownProxies = ["10.0.0.5", "proxy.local"], KnownNetworks = ["10.0.0.0/8", "10.0.0.0/99"] };

        var errors = settings.Validate(new ValidationContext(settings)).Select(r => r.ErrorMessage).ToList();

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e!.Contains("Relay:ForwardedHeaders:KnownProxies:1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e!.Contains("Relay:ForwardedHeaders:KnownNetworks:1", StringComparison.Ordinal));
    }

    [Fact]
    public void ManagementUrls_DynamicPortOrNotAUrl_NamesTheKey()
    {
        var options = new RelayOptions { ManagementUrls = ["http://+:9090", "http://127.0.0.1:0", "not a url"] };

        var errors = options.Validate(new ValidationContext(options)).Select(r => r.ErrorMessage).ToList();

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e!.Contains("Relay:ManagementUrls:1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e!.Contains("Relay:ManagementUrls:2", StringComparison.Ordinal));
    }
}
