namespace Relay.Bench;

/// <summary>Lock-free latency histogram: 10 µs buckets up to 10 s, exact enough for p50..max and cheap on the hot path.</summary>
internal sealed class LatencyHistogram
{
    private const double BucketMs = 0.01;
    private readonly long[] _buckets = new long[1_000_001];
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public void Record(double milliseconds)
    {
        var bucket = (int)Math.Clamp(milliseconds / BucketMs, 0, _buckets.Length - 1);
        Interlocked.Increment(ref _buckets[bucket]);
        Interlocked.Increment(ref _count);
    }

    public double Percentile(double p)
    {
        var total = Count;
        if (total == 0)
        {
            return double.NaN;
        }

        var rank = (long)Math.Ceiling(p * total);
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            seen += Interlocked.Read(ref _buckets[i]);
            if (seen >= rank)
            {
                return (i + 1) * BucketMs;
            }
        }

        return _buckets.Length * BucketMs;
    }

    public double Max()
    {
        for (var i = _buckets.Length - 1; i >= 0; i--)
        {
            if (Interlocked.Read(ref _buckets[i]) > 0)
            {
                return (i + 1) * BucketMs;
            }
        }

        return double.NaN;
    }
}
