using System.Diagnostics;

namespace Relay.Demo;

/// <summary>When the current demo step issued its REST call, so viewers can print how long the event took to reach them.</summary>
internal sealed class StepClock
{
    private long _started = Stopwatch.GetTimestamp();

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(Volatile.Read(ref _started));

    public void Start() => Volatile.Write(ref _started, Stopwatch.GetTimestamp());
}
