using Relay.Diagnostics;
using Serilog.Events;

namespace Relay.Tests.Diagnostics;

public class PinnedLogCategoriesTests
{
    [Theory]
    [InlineData("Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher", LogEventLevel.Debug, true)]
    [InlineData("Microsoft.AspNetCore.SignalR", LogEventLevel.Verbose, true)]
    [InlineData("Microsoft.AspNetCore.Http.Connections.Internal.HttpConnectionDispatcher", LogEventLevel.Debug, true)]
    [InlineData("Microsoft.AspNetCore.Hosting.Diagnostics", LogEventLevel.Information, true)]
    [InlineData("Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher", LogEventLevel.Information, false)]
    [InlineData("Microsoft.AspNetCore.Hosting.Diagnostics", LogEventLevel.Warning, false)]
    [InlineData("Microsoft.AspNetCore.SignalRish", LogEventLevel.Debug, false)]
    [InlineData("Relay.Hubs.RelayHubFilter", LogEventLevel.Debug, false)]
    public void IsBelowPin_ByCategoryAndLevel(string category, LogEventLevel level, bool dropped)
    {
        var logEvent = new LogEvent(
            DateTimeOffset.UtcNow,
            level,
            exception: null,
            MessageTemplate.Empty,
            [new LogEventProperty(Serilog.Core.Constants.SourceContextPropertyName, new ScalarValue(category))]);

        Assert.Equal(dropped, PinnedLogCategories.IsBelowPin(logEvent));
    }
}
