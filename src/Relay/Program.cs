using Relay.Diagnostics;
using Relay.Hosting;
using Serilog;

var builder = WebApplication.CreateBuilder(args);

// Serilog at the edge only. The callback form avoids a static bootstrap logger, which several test hosts in one
// process would freeze; writeToProviders lets hosts that add their own ILoggerProvider (tests) see the same events.
builder.Logging.ClearProviders();
builder.Services.AddSerilog(
    (services, logger) => logger
        .ReadFrom.Configuration(builder.Configuration)
        .ReadFrom.Services(services)
        .Enrich.FromLogContext()
        .Filter.ByExcluding(HubRefusalLogFilter.IsExpectedRefusal)
        // Request URLs carry ?access_token= and SignalR's Debug logs carry hub arguments (tokens): held at a safe
        // level whatever the configuration says, so a token never reaches a log.
        .PinSensitiveCategories()
        .WriteToConsole(builder.Configuration["Serilog:ConsoleFormat"]),
    writeToProviders: true);

builder.Services.AddRelay(builder.Configuration);

var app = builder.Build();

// First, so everything after it (limits, request logs) sees the client's address, taken from X-Forwarded-For only when
// the request came from a proxy listed under Relay:ForwardedHeaders.
app.UseForwardedHeaders();
app.UseSerilogRequestLogging(static options =>
{
    options.EnrichDiagnosticContext = RequestLogEnrichment.Enrich;
    options.GetLevel = RequestLogEnrichment.GetLevel;
});
// BFF mode's web app (Relay:Bff:WebRoot), when set: public files, answered before authentication.
app.UseRelayWebRoot();
// CORS first: a browser's preflight carries no token and must not meet authentication.
app.UseCors();
app.UseAuthentication();
app.UseAuthorization();
// Endpoint limits (BFF mode's /api/* per client address), after the forwarded headers gave the client's address.
app.UseRateLimiter();
app.MapRelay();

app.Run();
