using Relay.Upstream;

namespace Relay.Tests.Upstream;

public class SyncWaitersTests
{
    [Fact]
    public void Wait_CompletesWhenItsVersionIsConfirmed_NotBefore()
    {
        var waiters = new SyncWaiters();
        var first = waiters.Wait(1, "a");
        var second = waiters.Wait(2, "b");

        waiters.Complete(1);

        Assert.True(first.IsCompletedSuccessfully);
        Assert.False(second.IsCompleted);
        Assert.Equal(1, waiters.Confirmed);
        Assert.True(waiters.Wait(1, null).IsCompletedSuccessfully);
    }

    [Fact]
    public void FailRefused_FailsOnlyTheWaitersOfTheRefusedTopics()
    {
        var waiters = new SyncWaiters();
        var refused = waiters.Wait(3, "bad");
        var bystander = waiters.Wait(3, "good");

        waiters.FailRefused(["bad"], topic => new InvalidOperationException(topic));
        waiters.Complete(3);

        Assert.Equal("bad", Assert.IsType<InvalidOperationException>(refused.Exception!.InnerException).Message);
        Assert.True(bystander.IsCompletedSuccessfully);
    }

    [Fact]
    public void Reset_NothingConfirmed_AnAddedWaiterWaitsForTheNextConfirmation()
    {
        var waiters = new SyncWaiters();
        waiters.Complete(5);
        waiters.Reset();

        var waiting = waiters.Wait(5, null);
        var moved = new SyncWaiters();
        moved.Complete(5);
        var handedOver = waiters.TakeAll();
        moved.Add(handedOver.Single());

        Assert.Equal(-1, waiters.Confirmed);
        Assert.True(waiting.IsCompletedSuccessfully);
    }

    [Fact]
    public void FailAll_FailsEveryWaiter()
    {
        var waiters = new SyncWaiters();
        var a = waiters.Wait(1, "a");
        var b = waiters.Wait(2, null);

        waiters.FailAll(new ObjectDisposedException("stream"));

        Assert.True(a.IsFaulted);
        Assert.True(b.IsFaulted);
        Assert.Empty(waiters.TakeAll());
    }

    [Fact]
    public async Task Wait_AfterItsTopicWasRefusedInThatVersion_Fails()
    {
        // Another subscribe's POST carried the topic first: PocketBase refused it and the version was confirmed before
        // this caller started waiting. Found by UpstreamRotationTests.RefusedTopics_FoundByBisection failing under load.
        var waiters = new SyncWaiters();
        waiters.FailRefused(["c/*?options=x"], topic => new InvalidOperationException(topic), version: 5);
        waiters.Complete(5);

        var late = waiters.Wait(5, "c/*?options=x");

        Assert.True(late.IsFaulted);
        Assert.Equal("c/*?options=x", (await Assert.ThrowsAsync<InvalidOperationException>(() => late)).Message);
        Assert.True(waiters.Wait(5, "a/*").IsCompletedSuccessfully);
    }

    [Fact]
    public void Wait_SameTopicSubscribedAgainInANewerVersion_WaitsAsUsual()
    {
        var waiters = new SyncWaiters();
        waiters.FailRefused(["c/*"], topic => new InvalidOperationException(topic), version: 5);
        waiters.Complete(5);

        var again = waiters.Wait(6, "c/*");

        Assert.False(again.IsCompleted);
        waiters.Complete(6);
        Assert.True(again.IsCompletedSuccessfully);
    }
}
