using Relay.Diagnostics;
using Serilog;
using Serilog.Events;

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
        // Hosting logs every request URL with its query string, and browsers must send the PocketBase token as
        // ?access_token=. Kept at Warning whatever the configuration says, so a token never reaches a log.
        .MinimumLevel.Override("Microsoft.AspNetCore.Hosting.Diagnostics", LogEventLevel.Warning)
        .WriteToConsole(builder.Configuration["Serilog:ConsoleFormat"]),
    writeToProviders: true);

builder.Services.AddRelay(builder.Configuration);

var app = builder.Build();

app.UseSerilogRequestLogging(static options => options.EnrichDiagnosticContext = RequestLogEnrichment.Enrich);
// CORS first: a browser's preflight carries no token and must not meet authentication.
app.UseCors();
app.UseAuthentication();
app.UseAuthorization();
app.MapRelay();

app.Run();
