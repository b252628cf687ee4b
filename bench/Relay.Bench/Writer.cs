using System.Diagnostics;
using Relay.Testing.PocketBase;

namespace Relay.Bench;

/// <summary>Creates records through PocketBase's REST API at a steady rate, each stamped with <c>sentAt</c> just before its request.</summary>
internal static class Writer
{
    /// <returns>The number of records written and of writes that failed (refused, or timed out: PocketBase overloaded).</returns>
    public static async Task<(int Written, int Failed)> WriteAsync(PocketBaseAdmin admin, double perSecond, TimeSpan duration, Func<int, (string Collection, object Extra, string? Token)> next)
    {
        var total = (int)(perSecond * duration.TotalSeconds);
        using var gate = new SemaphoreSlim(32);
        // A write phase never runs much past its duration: an overloaded PocketBase costs a failed row, not the run.
        using var stop = new CancellationTokenSource(duration + TimeSpan.FromSeconds(30));
        var pending = new List<Task>(total);
        var started = Stopwatch.GetTimestamp();
        var failures = 0;
        var attempted = 0;
        for (var i = 0; i < total && !stop.IsCancellationRequested; i++)
        {
            var due = TimeSpan.FromSeconds(i / perSecond) - Stopwatch.GetElapsedTime(started);
            if (due > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(due);
            }

            try
            {
                await gate.WaitAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            attempted++;
            var (collection, extra, token) = next(i);
            var index = i;
            pending.Add(Task.Run(async () =>
            {
                try
                {
                    var body = new Dictionary<string, object?> { ["title"] = $"bench {index}", ["sentAt"] = Clock.NowMicroseconds() };
                    foreach (var property in extra.GetType().GetProperties())
                    {
                        body[property.Name] = property.GetValue(extra);
                    }

                    await admin.CreateRecordAsync(collection, body, token, stop.Token);
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
                {
                    // OperationCanceledException includes HttpClient.Timeout (a TaskCanceledException).
                    Interlocked.Increment(ref failures);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(pending);
        return (attempted - failures, failures + (total - attempted));
    }
}
