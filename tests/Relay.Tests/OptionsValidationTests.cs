using Microsoft.Extensions.Options;
using Relay.Hubs;
using Relay.PocketBase;

namespace Relay.Tests;

public class OptionsValidationTests
{
    private static OptionsSectionValidator<T> Validator<T>(IValidateOptions<T> inner, string section)
        where T : class => new(inner, section);

    [Fact]
    public void HubLimitsOptions_TooManySubscriptions_FailsNamingTheKey()
    {
        var result = Validator(new HubLimitsOptionsValidator(), "Relay").Validate(null, new HubLimitsOptions { MaxSubscriptionsPerConnection = 5000 });

        Assert.True(result.Failed);
        Assert.Contains("Relay:MaxSubscriptionsPerConnection", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void PocketBaseOptions_MissingUrl_FailsNamingTheKey()
    {
        var result = Validator(new PocketBaseOptionsValidator(), "Relay:PocketBase").Validate(null, new PocketBaseOptions());

        Assert.True(result.Failed);
        Assert.Contains("Relay:PocketBase:Url", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void PocketBaseOptions_NonHttpUrl_FailsNamingTheKeyAndValue()
    {
        var result = Validator(new PocketBaseOptionsValidator(), "Relay:PocketBase").Validate(null, new PocketBaseOptions { Url = new Uri("ftp://pb:2121/") });

        Assert.True(result.Failed);
        Assert.Contains("Relay:PocketBase:Url", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("ftp://pb:2121/", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void PocketBaseOptions_RotationNotBeforeIdleTimeout_FailsNamingTheKeys()
    {
        var result = Validator(new PocketBaseOptionsValidator(), "Relay:PocketBase").Validate(null, new PocketBaseOptions
        {
            Url = new Uri("http://127.0.0.1:8090/"),
            RotateAfterIdle = TimeSpan.FromMinutes(6),
            IdleTimeout = TimeSpan.FromMinutes(6),
        });

        Assert.True(result.Failed);
        Assert.Contains("Relay:PocketBase:RotateAfterIdle", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Relay:PocketBase:IdleTimeout", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void PocketBaseOptions_NegativeOverlap_FailsNamingTheKey()
    {
        var result = Validator(new PocketBaseOptionsValidator(), "Relay:PocketBase").Validate(null, new PocketBaseOptions
        {
            Url = new Uri("http://127.0.0.1:8090/"),
            RotationOverlap = TimeSpan.FromSeconds(-1),
        });

        Assert.True(result.Failed);
        Assert.Contains("Relay:PocketBase:RotationOverlap", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void PocketBaseOptions_Defaults_Succeed()
    {
        Assert.True(Validator(new PocketBaseOptionsValidator(), "Relay:PocketBase").Validate(null, new PocketBaseOptions { Url = new Uri("http://127.0.0.1:8090/") }).Succeeded);
    }

    [Fact]
    public void FanoutOptions_ZeroChunk_FailsNamingTheKey()
    {
        var result = Validator(new Relay.Fanout.FanoutOptionsValidator(), "Relay:Fanout").Validate(null, new Relay.Fanout.FanoutOptions { ChunkSize = 0 });

        Assert.True(result.Failed);
        Assert.Contains("Relay:Fanout:ChunkSize", result.FailureMessage, StringComparison.Ordinal);
    }
}
