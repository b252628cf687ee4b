using Relay.Bff;

namespace Relay.Tests.Bff;

public class BffOptionsTests
{
    private static readonly OptionsSectionValidator<BffOptions> Validator = new(new BffOptionsValidator(), BffOptions.SectionName);

    [Fact]
    public void Defaults_OffAndValid()
    {
        var options = new BffOptions();
        Assert.False(options.Enabled);
        Assert.True(Validator.Validate(null, options).Succeeded);
    }

    [Fact]
    public void RelativeKeysDirectory_FailsNamingTheKeyAndValue()
    {
        var result = Validator.Validate(null, new BffOptions { KeysDirectory = "keys" });
        Assert.True(result.Failed);
        Assert.Contains("Relay:Bff:KeysDirectory", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("'keys'", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SessionRecheckInterval")]
    [InlineData("MaxSessionsPerUser")]
    [InlineData("DefaultCollection")]
    [InlineData("KeyEncryptionCertificatePath")]
    public void SecuritySettingOutOfBounds_FailsNamingTheKey(string key)
    {
        var options = key switch
        {
            "SessionRecheckInterval" => new BffOptions { SessionRecheckInterval = TimeSpan.FromMinutes(1) },
            "MaxSessionsPerUser" => new BffOptions { MaxSessionsPerUser = 0 },
            "DefaultCollection" => new BffOptions { DefaultCollection = "_superusers" },
            _ => new BffOptions { KeyEncryptionCertificatePath = "/nonexistent/keyring.pfx" },
        };

        var result = Validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Relay:Bff:" + key, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ZeroLoginAttempts_FailsNamingTheKey()
    {
        var result = Validator.Validate(null, new BffOptions { LoginAttemptsPerMinute = 0 });
        Assert.True(result.Failed);
        Assert.Contains("Relay:Bff:LoginAttemptsPerMinute", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultCollectionWithSlash_FailsNamingTheKey()
    {
        var result = Validator.Validate(null, new BffOptions { DefaultCollection = "users/../admins" });
        Assert.True(result.Failed);
        Assert.Contains("Relay:Bff:DefaultCollection", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void WebRootWithoutBffMode_FailsNamingTheKey()
    {
        var result = Validator.Validate(null, new BffOptions { WebRoot = Path.GetTempPath() });
        Assert.True(result.Failed);
        Assert.Contains("Relay:Bff:WebRoot", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Relay:Bff:Enabled", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dist")]
    [InlineData("/nonexistent/relay-web-root")]
    public void WebRootRelativeOrMissing_FailsNamingTheKeyAndValue(string webRoot)
    {
        var result = Validator.Validate(null, new BffOptions { Enabled = true, WebRoot = webRoot });
        Assert.True(result.Failed);
        Assert.Contains("Relay:Bff:WebRoot", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains($"'{webRoot}'", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void WebRootExistingFolderInBffMode_Valid()
        => Assert.True(Validator.Validate(null, new BffOptions { Enabled = true, WebRoot = Path.GetTempPath() }).Succeeded);
}
