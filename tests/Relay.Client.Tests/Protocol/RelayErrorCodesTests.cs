using Relay.Client.Protocol;

namespace Relay.Client.Tests.Protocol;

public class RelayErrorCodesTests
{
    [Theory]
    [InlineData("invalid_topic: 'x' has no '/'", "invalid_topic")]
    [InlineData("An unexpected error occurred invoking 'Subscribe' on the server. HubException: too_many_subscriptions: 100", "too_many_subscriptions")]
    [InlineData("no code here", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void FromMessage_ReadsTheLeadingCode(string? message, string? expected) => Assert.Equal(expected, RelayErrorCodes.FromMessage(message));
}
