using Serilog;

var builder = WebApplication.CreateBuilder(args);

// Serilog is configured from the host's configuration (appsettings + environment) at the edge only;
// the callback form avoids a static bootstrap logger that several test hosts in one process would freeze.
builder.Services.AddSerilog((services, logger) => logger
    .ReadFrom.Configuration(builder.Configuration)
    .ReadFrom.Services(services)
    .Enrich.FromLogContext());

builder.Services.AddRelay(builder.Configuration);

var app = builder.Build();

app.UseSerilogRequestLogging();
app.MapRelay();

app.Run();
