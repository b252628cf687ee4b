using Relay.Sessions;

namespace Relay.Tests.Sessions;

public class HistoryOptionsValidationTests
{
    private static readonly OptionsSectionValidator<HistoryOptions> Validator = new(new HistoryOptionsValidator(), HistoryOptions.SectionName);

    [Fact]
    public void Defaults_Succeed() => Assert.True(Validator.Validate(null, new HistoryOptions()).Succeeded);

    [Fact]
    public void NegativeMaxEvents_FailsNamingTheKey()
    {
        var result = Validator.Validate(null, new HistoryOptions { MaxEvents = -1 });

        Assert.True(result.Failed);
        Assert.Contains("Relay:History:MaxEvents", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ZeroMaxAge_FailsNamingTheKey()
    {
        var result = Validator.Validate(null, new HistoryOptions { MaxAge = TimeSpan.Zero });

        Assert.True(result.Failed);
        Assert.Contains("Relay:History:MaxAge", result.FailureMessage, StringComparison.Ordinal);
    }
}
