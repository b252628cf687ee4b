namespace Relay.Bff;

/// <summary>The body of every BFF refusal.</summary>
internal sealed record BffError(string Code, string Message)
{
    public IResult ToResult(int statusCode) => Results.Json(this, BffJsonContext.Default.BffError, statusCode: statusCode);

    public Task WriteAsync(HttpContext context, int statusCode)
    {
        context.Response.StatusCode = statusCode;
        return context.Response.WriteAsJsonAsync(this, BffJsonContext.Default.BffError, contentType: null, context.RequestAborted);
    }
}
