using System.Diagnostics;
using Relay.Testing.PocketBase;

namespace Relay.Bench;

/// <summary>Creates records through PocketBase's REST API at a steady rate, each stamped with <c>sentAt</c> just before its request.</summary>
internal static class Writer
{
    /// <returns>The number of records written.</returns>
    public static async Task<int> WriteAsync(PocketBaseAdmin admin, double perSecond, TimeSpan duration, Func<int, (string Collection, object Extra, string? Token)> next)
    {
        var total = (int)(perSecond * duration.TotalSeconds);
        using var gate = new SemaphoreSlim(32);
        var pending = new List<Task>(total);
        var started = Stopwatch.GetTimestamp();
        var failures = 0;
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds(i / perSecond) - Stopwatch.GetElapsedTime(started);
            if (due > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(due);
            }

            await gate.WaitAsync();
            var (collection, extra, token) = next(i);
            pending.Add(Task.Run(async () =>
            {
                try
                {
                    var body = new Dictionary<string, object?> { ["title"] = $"bench {i}", ["sentAt"] = Clock.NowMicroseconds() };
                    foreach (var property in extra.GetType().GetProperties())
                    {
                        body[property.Name] = property.GetValue(extra);
                    }

                    await admin.CreateRecordAsync(collection, body, token);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failures);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(pending);
        return total - failures;
    }
}
