namespace Relay.Demo;

internal static class Health
{
    public static async Task WaitAsync(string name, Uri url, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(url, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not up yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{name} did not answer {url} within 60 s.");
            }

            await Task.Delay(200, cancellationToken);
        }
    }
}
