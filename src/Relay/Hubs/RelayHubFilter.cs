using Microsoft.AspNetCore.SignalR;
using Relay.Client.Protocol;
using Relay.Diagnostics;
using Relay.Routing;

namespace Relay.Hubs;

/// <summary>
/// Around every hub call: the connection's rate limit first (a flooding client is refused before any work), then
/// refusals are counted by code and logged at Debug (they are the client's mistakes, not Relay's errors). Anything else
/// a call throws is Relay's error: counted as <c>internal</c> and left to SignalR, which logs it at Error and tells the
/// client only that the call failed; except a call cancelled because its connection went away, which ends quietly.
/// </summary>
internal sealed partial class RelayHubFilter(RelayMetrics metrics, ILogger<RelayHubFilter> logger) : IHubFilter
{
    /// <summary>The <c>code</c> of <c>relay.hub.errors</c> for a call that failed on Relay's side (no error code reaches the client).</summary>
    public const string InternalError = "internal";

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var context = invocationContext.Context;
        var connection = RelayHubLifetimeManager.GetConnection(context);
        // Every log written while handling the call carries who made it (ids only, never a token).
        using var scope = logger.BeginScope(new Dictionary<string, object?>
        {
            ["ConnectionId"] = context.ConnectionId,
            ["UserId"] = RelayHubLifetimeManager.GetSession(context).Name,
        });
        try
        {
            if (!connection.CallLimiter.TryAcquire())
            {
                throw new RelayHubException(RelayErrorCodes.RateLimited, "too many calls; slow down (Relay:HubCallsPerSecond)");
            }

            try
            {
                return await next(invocationContext);
            }
            catch (SubscriptionException ex)
            {
                // Routing and Sessions stay free of SignalR; their refusals become the hub's here.
                throw new RelayHubException(ex.Code, ex.Message);
            }
        }
        catch (RelayHubException ex)
        {
            metrics.HubError(ex.Code);
            Log.Refused(logger, invocationContext.HubMethodName, context.ConnectionId, ex.Code);
            throw;
        }
        catch (OperationCanceledException) when (context.ConnectionAborted.IsCancellationRequested)
        {
            // The connection went away during the call (closed, cut, drained): nobody is left for the answer, and it is
            // not Relay's error. Rethrown, SignalR logged it at Error ("Failed to invoke hub method") for every client a
            // network dropped in the middle of a subscription.
            Log.Abandoned(logger, invocationContext.HubMethodName, context.ConnectionId);
            return null;
        }
        catch
        {
            metrics.HubError(InternalError);
            throw;
        }
    }

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        try
        {
            await next(context);
        }
        catch (RelayHubException ex)
        {
            metrics.HubError(ex.Code);
            Log.Refused(logger, "connect", context.Context.ConnectionId, ex.Code);
            throw;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(5001, LogLevel.Debug, "Refused {Method} from connection {ConnectionId}: {Code}.")]
        public static partial void Refused(ILogger logger, string method, string connectionId, string code);

        [LoggerMessage(5002, LogLevel.Debug, "{Method} of connection {ConnectionId} ended unanswered: the connection went away during the call.")]
        public static partial void Abandoned(ILogger logger, string method, string connectionId);
    }
}
