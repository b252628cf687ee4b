using System.Net;
using Relay.ClientIp;

namespace Relay.Tests.ClientIp;

public class ClientAddressTests
{
    [Fact]
    public void KeyOf_Ipv6_CountsTheWhole64()
    {
        Assert.Equal(
            ClientAddress.KeyOf(IPAddress.Parse("2001:db8:1:2:aaaa::1")),
            ClientAddress.KeyOf(IPAddress.Parse("2001:db8:1:2:ffff:1:2:3")));
        Assert.NotEqual(
            ClientAddress.KeyOf(IPAddress.Parse("2001:db8:1:2::1")),
            ClientAddress.KeyOf(IPAddress.Parse("2001:db8:1:3::1")));
    }

    [Fact]
    public void KeyOf_Ipv4_OneByOne_MappedFormsAlike()
    {
        Assert.Equal(IPAddress.Parse("203.0.113.7"), ClientAddress.KeyOf(IPAddress.Parse("::ffff:203.0.113.7")));
        Assert.NotEqual(ClientAddress.KeyOf(IPAddress.Parse("203.0.113.7")), ClientAddress.KeyOf(IPAddress.Parse("203.0.113.8")));
        Assert.Equal(ClientAddress.Unknown, ClientAddress.KeyOf(null));
    }
}
