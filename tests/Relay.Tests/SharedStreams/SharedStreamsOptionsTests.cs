using Relay.SharedStreams;

namespace Relay.Tests.SharedStreams;

public sealed class SharedStreamsOptionsTests
{
    [Fact]
    public void Defaults_Valid_AndOff()
    {
        var options = new SharedStreamsOptions();

        Assert.False(options.Enabled);
        Assert.True(Validate(options).Succeeded);
        Assert.True(Validate(new SuperuserCredentialsOptions()).Succeeded);
    }

    [Fact]
    public void RulesMaxAge_NotBeyondTheInterval_FailsNamingBothKeys()
    {
        var result = Validate(new SharedStreamsOptions { RulesRefreshInterval = TimeSpan.FromMinutes(5), RulesMaxAge = TimeSpan.FromMinutes(5) });

        Assert.True(result.Failed);
        Assert.Contains("Relay:SharedStreams:RulesMaxAge", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Relay:SharedStreams:RulesRefreshInterval", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void RefreshInterval_OutOfRange_FailsNamingTheKey()
    {
        var result = Validate(new SharedStreamsOptions { RulesRefreshInterval = TimeSpan.Zero });

        Assert.True(result.Failed);
        Assert.Contains("Relay:SharedStreams:RulesRefreshInterval", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Credentials_PasswordWithoutEmail_FailsNamingBothKeysNotTheSecret()
    {
        var result = Validate(new SuperuserCredentialsOptions { SuperuserPassword = "s3cret-superuser" });

        Assert.True(result.Failed);
        Assert.Contains("Relay:PocketBase:SuperuserEmail", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Relay:PocketBase:SuperuserPassword", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-superuser", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Credentials_Both_Configured()
    {
        var options = new SuperuserCredentialsOptions { SuperuserEmail = "relay@example.com", SuperuserPassword = "x" };

        Assert.True(Validate(options).Succeeded);
        Assert.True(options.IsConfigured);
    }

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(SharedStreamsOptions options)
        => new OptionsSectionValidator<SharedStreamsOptions>(new SharedStreamsOptionsValidator(), SharedStreamsOptions.SectionName).Validate(null, options);

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(SuperuserCredentialsOptions options)
        => new OptionsSectionValidator<SuperuserCredentialsOptions>(new SuperuserCredentialsOptionsValidator(), SuperuserCredentialsOptions.SectionName).Validate(null, options);
}
