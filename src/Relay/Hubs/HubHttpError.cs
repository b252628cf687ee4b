namespace Relay.Hubs;

/// <summary>
/// The body of a refusal in front of the hub's endpoints (<c>{"code":...,"message":...}</c>, the shape of every refusal
/// Relay answers over HTTP).
/// </summary>
internal sealed record HubHttpError(string Code, string Message)
{
    public Task WriteAsync(HttpContext context, int statusCode)
    {
        context.Response.StatusCode = statusCode;
        return context.Response.WriteAsJsonAsync(this, HubsJsonContext.Default.HubHttpError, contentType: null, context.RequestAborted);
    }
}
