using Relay.Cluster;

namespace Relay.Tests.Cluster;

public class ClusterOptionsTests
{
    [Fact]
    public void Validate_RenewIntervalOverHalfTheLease_FailsNamingBothKeys()
    {
        var result = new OptionsSectionValidator<ClusterOptions>(new ClusterOptionsValidator(), ClusterOptions.SectionName)
            .Validate(null, new ClusterOptions { LeaseTime = TimeSpan.FromSeconds(3), RenewInterval = TimeSpan.FromSeconds(2) });

        Assert.True(result.Failed);
        Assert.Contains("Relay:Cluster:RenewInterval", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Relay:Cluster:LeaseTime", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Defaults_Pass()
    {
        var result = new ClusterOptionsValidator().Validate(null, new ClusterOptions());

        Assert.False(result.Failed, result.FailureMessage);
    }

    [Fact]
    public void Validate_HandoverOverlapNotShorterThanTheHandoverTimeout_FailsNamingBothKeys()
    {
        var result = new OptionsSectionValidator<ClusterOptions>(new ClusterOptionsValidator(), ClusterOptions.SectionName)
            .Validate(null, new ClusterOptions { HandoverTimeout = TimeSpan.FromSeconds(2), HandoverOverlap = TimeSpan.FromSeconds(2) });

        Assert.True(result.Failed);
        Assert.Contains("Relay:Cluster:HandoverOverlap", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Relay:Cluster:HandoverTimeout", result.FailureMessage, StringComparison.Ordinal);
    }
}
