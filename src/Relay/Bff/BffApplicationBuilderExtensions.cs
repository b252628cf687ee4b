using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Relay.Bff;

namespace Microsoft.AspNetCore.Builder;

internal static class BffApplicationBuilderExtensions
{
    /// <summary>
    /// Serves the files of <c>Relay:Bff:WebRoot</c> (<c>index.html</c> for <c>/</c>) when it is set, so a web app in BFF
    /// mode comes from Relay's own origin: its cookie, <c>/api/*</c> calls and hub share one origin and need no CORS.
    /// Only existing files are answered; every other path goes on to Relay's endpoints.
    /// </summary>
    public static IApplicationBuilder UseRelayWebRoot(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<IOptions<BffOptions>>().Value;
        if (!options.Enabled || string.IsNullOrEmpty(options.WebRoot))
        {
            return app;
        }

        var files = new PhysicalFileProvider(options.WebRoot);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        return app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = static context =>
            {
                var headers = context.Context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                // Bundlers name assets by content hash, so those may be cached; the HTML that names them must be
                // revalidated, or a deploy leaves browsers on the old bundle.
                if (context.File.Name.EndsWith(".html", StringComparison.OrdinalIgnoreCase))
                {
                    headers.CacheControl = "no-cache";
                }
            },
        });
    }
}
