namespace Relay.Testing.PocketBase;

/// <summary>Waits for a health endpoint: PocketBase's <c>/api/health</c>, Relay's <c>/health/ready</c>.</summary>
public static class HttpHealth
{
    /// <exception cref="TimeoutException">No 2xx answer within <paramref name="timeout"/>.</exception>
    public static async Task WaitAsync(Uri url, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
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
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{url} did not answer 2xx within {timeout.TotalSeconds:0} s.");
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}
