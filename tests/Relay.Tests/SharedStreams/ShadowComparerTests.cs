using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Relay.SharedStreams;
using Relay.Upstream;

namespace Relay.Tests.SharedStreams;

/// <summary>Shadow verification's comparison (issue #22 item 4) on a fake clock: agreement, disagreement either way, and the grace after a reset.</summary>
public sealed class ShadowComparerTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void BothSidesCarryTheEvent_WithinTheWindow_Agree()
    {
        var comparer = Armed();
        comparer.OnShared(Key("r1", "2026-12-07 10:00:00.000Z"));
        _time.Advance(TimeSpan.FromSeconds(4));
        comparer.OnOwn(Key("r1", "2026-12-07 10:00:00.000Z"));
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Empty(comparer.Sweep());
        Assert.Equal(1, comparer.TakeMatched());
        Assert.Equal(0, comparer.TakeMatched());
    }

    [Fact]
    public void BothSidesCarryTheSameKeyTwice_InAnyOrder_Agree()
    {
        // Two updates of a record within one millisecond have the same key (0.22's `updated` has ms resolution).
        var comparer = Armed();
        comparer.OnShared(Key("r1", "a"));
        comparer.OnShared(Key("r1", "a"));
        comparer.OnOwn(Key("r1", "a"));
        comparer.OnOwn(Key("r1", "a"));
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Empty(comparer.Sweep());
        Assert.Equal(1, comparer.TakeMatched());
    }

    [Fact]
    public void OneSideCarriesAKeyTwice_TheOtherOnce_Agree()
    {
        // PocketBase sometimes sends one change twice on a stream: the same visibility on both sides.
        var comparer = Armed();
        comparer.OnOwn(Key("r1", "a"));
        comparer.OnShared(Key("r1", "a"));
        comparer.OnOwn(Key("r1", "a"));
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Empty(comparer.Sweep());
    }

    [Fact]
    public void AKeyMatchedLongAgo_CarriedAgainByOneSideOnly_Disagrees()
    {
        var comparer = Armed();
        comparer.OnOwn(Key("r1", "a"));
        comparer.OnShared(Key("r1", "a"));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(comparer.Sweep());

        comparer.OnOwn(Key("r1", "a"));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.StartsWith("own stream only:", Assert.Single(comparer.Sweep()), StringComparison.Ordinal);
    }

    [Fact]
    public void OnlyTheClassStreamCarriesAnEvent_PastTheWindow_Disagrees()
    {
        var comparer = Armed();
        comparer.OnShared(Key("leaked", "a"));
        _time.Advance(Window - TimeSpan.FromMilliseconds(1));
        Assert.Empty(comparer.Sweep());

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var late = Assert.Single(comparer.Sweep());
        Assert.StartsWith("class stream only:", late, StringComparison.Ordinal);
        Assert.Contains("leaked", late, StringComparison.Ordinal);
        // Reported once.
        Assert.Empty(comparer.Sweep());
    }

    [Fact]
    public void OnlyTheOwnStreamCarriesAnEvent_Disagrees_AndAnotherUpdateOfTheSameRecordIsAnotherEvent()
    {
        var comparer = Armed();
        comparer.OnShared(Key("r1", "first"));
        comparer.OnOwn(Key("r1", "first"));
        comparer.OnOwn(Key("r1", "second"));
        _time.Advance(Window);

        Assert.StartsWith("own stream only:", Assert.Single(comparer.Sweep()), StringComparison.Ordinal);
    }

    [Fact]
    public void EventsSeenInTheGraceAfterAReset_AreNeverFlagged()
    {
        var comparer = Armed();
        comparer.Reset();
        // In flight on one side only when comparing began (or when a side's stream was re-established).
        comparer.OnOwn(Key("in-flight", "a"));
        _time.Advance(Window);
        Assert.Empty(comparer.Sweep());

        comparer.OnShared(Key("after", "a"));
        _time.Advance(Window);
        Assert.Single(comparer.Sweep());
    }

    [Fact]
    public void Paused_NothingIsComparedUntilTheNextReset()
    {
        var comparer = Armed();
        comparer.OnShared(Key("before", "a"));
        comparer.Pause();
        comparer.OnOwn(Key("during", "a"));
        _time.Advance(Window * 3);
        Assert.Empty(comparer.Sweep());

        comparer.Reset();
        _time.Advance(Window);
        comparer.OnOwn(Key("after", "a"));
        _time.Advance(Window);
        Assert.Single(comparer.Sweep());
    }

    [Fact]
    public void BeforeItIsArmed_NothingIsCompared()
    {
        var comparer = new ShadowComparer(_time, Window);
        comparer.OnShared(Key("r1", "a"));
        _time.Advance(Window * 3);
        Assert.Empty(comparer.Sweep());
        Assert.Equal(0, comparer.TakeMatched());
    }

    private ShadowComparer Armed()
    {
        var comparer = new ShadowComparer(_time, Window);
        comparer.Reset();
        _time.Advance(Window);
        return comparer;
    }

    private static string Key(string id, string updated)
    {
        using var record = JsonDocument.Parse($$"""{"id":"{{id}}","updated":"{{updated}}"}""");
        return ShadowComparer.KeyOf(new UpstreamEvent("posts/*", "update", record.RootElement.Clone(), 0));
    }
}
