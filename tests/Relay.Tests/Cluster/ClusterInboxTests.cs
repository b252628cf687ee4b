using Microsoft.Extensions.Time.Testing;
using Relay.Cluster;

namespace Relay.Tests.Cluster;

/// <summary>The loop's inbox: signals coalesced, commands kept in order, no wake-up lost between two passes.</summary>
public class ClusterInboxTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task ManySignals_OnePass_EverySignalTaken()
    {
        var inbox = new ClusterInbox();
        for (var i = 0; i < 1_000; i++)
        {
            inbox.Signal(ClusterSignals.Appended);
        }

        inbox.Signal(ClusterSignals.TopicsDirty);

        Assert.True(await inbox.WaitAsync(Long, new FakeTimeProvider(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)));
        var commands = new List<ClusterCommand>();
        Assert.Equal(ClusterSignals.Appended | ClusterSignals.TopicsDirty, inbox.TakeAll(commands));
        Assert.Empty(commands);

        // Nothing left: the next wait is the timer's.
        var time = new FakeTimeProvider();
        var waiting = inbox.WaitAsync(TimeSpan.FromSeconds(1), time, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task SignalAfterAPassTookItsSignals_WakesTheNextPass()
    {
        var inbox = new ClusterInbox();
        inbox.Signal(ClusterSignals.Appended);
        Assert.Equal(ClusterSignals.Appended, inbox.TakeAll([]));

        inbox.Signal(ClusterSignals.HandoverStarting);

        Assert.True(await inbox.WaitAsync(Long, new FakeTimeProvider(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(ClusterSignals.HandoverStarting, inbox.TakeAll([]));
    }

    [Fact]
    public void Commands_TakenInOrder_BesideTheSignals()
    {
        var inbox = new ClusterInbox();
        inbox.Post(new ClusterCommand(ClusterCommandKind.ConfirmFailed, Versions: "a=1"));
        inbox.Signal(ClusterSignals.TopicsChanged);
        inbox.Post(new ClusterCommand(ClusterCommandKind.HandOver, Done: new TaskCompletionSource()));

        var commands = new List<ClusterCommand>();
        Assert.Equal(ClusterSignals.TopicsChanged, inbox.TakeAll(commands));

        Assert.Equal([ClusterCommandKind.ConfirmFailed, ClusterCommandKind.HandOver], commands.Select(static command => command.Kind));
    }

    [Fact]
    public void ManyCommands_NoneDropped()
    {
        var inbox = new ClusterInbox();
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(inbox.Post(new ClusterCommand(ClusterCommandKind.ConfirmFailed, Versions: $"a={i}")));
        }

        var commands = new List<ClusterCommand>();
        inbox.TakeAll(commands);

        Assert.Equal(1000, commands.Count);
        Assert.Equal("a=999", commands[^1].Versions);
    }

    [Fact]
    public void Completed_NothingPostedAnyMore()
    {
        var inbox = new ClusterInbox();
        inbox.Complete();

        Assert.False(inbox.Post(new ClusterCommand(ClusterCommandKind.HandOver, Done: new TaskCompletionSource())));
    }
}
