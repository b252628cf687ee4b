using System.Diagnostics;
using Relay.Diagnostics;
using Relay.PocketBase;

namespace Relay.Upstream;

internal sealed partial class UpstreamConnection
{
    private TimeSpan _rotationRetryDelay;
    private long _rotationRetryAt;

    /// <summary>
    /// Watches the live stream: rotates it before PocketBase would close it, and returns when it ends unplanned (the
    /// caller then reconnects and the session resyncs).
    /// </summary>
    private async Task SuperviseAsync(CancellationToken stopping)
    {
        while (true)
        {
            var live = _live!;
            if (_holderChangeRequested.Task.IsCompleted)
            {
                // Re-armed before the request is read: one made after this read wakes the next wait.
                _holderChangeRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (Interlocked.Exchange(ref _holderChange, null) is { } holderChange)
            {
                // A rotation onto the new holder's token; on failure the old stream (and holder) stays, and the caller
                // reopens with a Resync.
                holderChange.Done.TrySetResult(await RotateAsync(live, "holder", stopping, holderChange));
                continue;
            }

            var (due, reason) = RotationDue(live);
            if (due <= TimeSpan.Zero)
            {
                if (await RotateAsync(live, reason, stopping))
                {
                    _rotationRetryDelay = _options.ReconnectBaseDelay;
                    _rotationRetryAt = 0;
                    continue;
                }

                // The old stream still works and has some margin before PocketBase would close it: try again soon.
                _rotationRetryAt = _timeProvider.GetTimestamp() + (long)(_rotationRetryDelay.TotalSeconds * _timeProvider.TimestampFrequency);
                due = _rotationRetryDelay;
                _rotationRetryDelay = TimeSpan.FromTicks(Math.Min(_rotationRetryDelay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
            }

            if (!await WaitAsync(live.Reader, due, stopping, _holderChangeRequested.Task))
            {
                continue;
            }

            stopping.ThrowIfCancellationRequested();
            var lost = await live.Reader;
            _metrics.UpstreamStreamLost(lost);
            Log.StreamEnded(_logger, _subscriber.Name, lost);
            return;
        }
    }

    /// <summary>How long until <paramref name="live"/> is to be replaced, and why.</summary>
    internal (TimeSpan Due, string Reason) RotationDue(StreamHandle live)
    {
        var idle = _options.RotateAfterIdle - _timeProvider.GetElapsedTime(live.Stream.LastMessageAt);
        var age = live.Lifetime - _timeProvider.GetElapsedTime(live.Stream.OpenedAt);
        var (due, reason) = idle <= age ? (idle, "idle") : (age, "lifetime");
        var retry = _rotationRetryAt == 0 ? TimeSpan.Zero : _timeProvider.GetElapsedTime(_timeProvider.GetTimestamp(), _rotationRetryAt);
        return (retry > due ? retry : due, reason);
    }

    /// <summary>True when <paramref name="ended"/> completed, false when <paramref name="delay"/> passed (or <paramref name="woken"/> completed) first.</summary>
    private async Task<bool> WaitAsync(Task ended, TimeSpan delay, CancellationToken stopping, Task? woken = null)
    {
        if (ended.IsCompleted)
        {
            return true;
        }

        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var timer = Task.Delay(delay, _timeProvider, wake.Token);
        var first = woken is null ? await Task.WhenAny(ended, timer) : await Task.WhenAny(ended, timer, woken);
        await wake.CancelAsync();
        stopping.ThrowIfCancellationRequested();
        return first == ended;
    }

    /// <summary>
    /// Make before break: opens a new stream, posts the topic set on it, and once PocketBase accepted it makes it the
    /// current stream, reads the old one for <see cref="PocketBaseOptions.RotationOverlap"/> more, then retires it.
    /// </summary>
    /// <returns>False when the new stream could not be set up; the old one is kept.</returns>
    private async Task<bool> RotateAsync(StreamHandle old, string reason, CancellationToken stopping, HolderChange? holderChange = null)
    {
        StreamHandle? next = null;

        // Nothing else watches the old stream while the new one is set up: when it ends, give up the rotation at once so
        // the loss is handled (reconnect and Resync) instead of waiting on a new stream that may never come.
        using var oldEnded = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        _ = old.Reader.ContinueWith(static (_, state) => CancelIfAlive((CancellationTokenSource)state!), oldEnded, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            next = await OpenAsync(stopping, oldEnded.Token);
            await _postGate.WaitAsync(oldEnded.Token);
            try
            {
                if (old.Reader.IsCompleted)
                {
                    // The old stream ended meanwhile: that is a loss, whatever the new stream can do.
                    throw new UpstreamException("the stream ended during its rotation");
                }

                // Recording starts only now: an event the old stream delivered before the new stream's POST can never
                // come on the new one, and remembered it would drop a later identical change (a value flipping back).
                await _inbox.Writer.WriteAsync(new Inbound(InboundKind.BeginRotation, old.Id), oldEnded.Token);
                next.Token = holderChange?.Token;
                await PostTopicsAsync(next, oldEnded.Token);
                if (holderChange is not null)
                {
                    // From here POSTs go to the new stream, with the subscriber's token, which is now the new holder's.
                    holderChange.Commit();
                    next.Token = null;
                }

                Volatile.Write(ref _current, next);
            }
            finally
            {
                _postGate.Release();
            }
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested)
        {
            _metrics.UpstreamRotationFailed();
            Log.RotationFailed(_logger, _subscriber.Name, reason, ex);
            await _inbox.Writer.WriteAsync(new Inbound(InboundKind.AbandonRotation, old.Id), stopping);
            if (next is not null)
            {
                await CloseAsync(next);
            }

            return false;
        }
        catch
        {
            if (next is not null)
            {
                await CloseAsync(next);
            }

            throw;
        }

        // From here the new stream is the session's: it is live even if the old one fails during the overlap.
        _live = next;
        var oldEndedFirst = false;
        try
        {
            await _inbox.Writer.WriteAsync(new Inbound(InboundKind.AddSuccessor, next.Id), stopping);
            StartReader(next);

            // Events PocketBase sent on the old stream before it accepted the new subscriptions may still be in transit.
            await WaitAsync(old.Reader, _options.RotationOverlap, stopping);
        }
        finally
        {
            // Ended before Relay retired it (during the new stream's POST or the overlap): events PocketBase sent on it
            // between its end and the new subscriptions being accepted, or still in transit, may be lost.
            oldEndedFirst = old.Reader.IsCompleted;
            old.Retired = true;
            await CloseAsync(old);
        }

        // An event the new stream read more than half an overlap before the old one was closed had time to reach the old
        // one too (both are read from the same PocketBase): one the old stream never read shows it was already cut.
        var retiredAt = _timeProvider.GetTimestamp();
        var dropUntil = retiredAt + (long)(_options.RotationOverlap.TotalSeconds * _timeProvider.TimestampFrequency);
        var missedBefore = retiredAt - (long)(_options.RotationOverlap.TotalSeconds / 2 * _timeProvider.TimestampFrequency);
        await _inbox.Writer.WriteAsync(new Inbound(InboundKind.CompleteRotation, next.Id, Completion: new RotationCompletion(dropUntil, old.Accepted, missedBefore)), stopping);
        if (oldEndedFirst)
        {
            // Not a planned rotation but an unplanned loss, answered as one: the session resyncs.
            var lost = await old.Reader;
            _metrics.UpstreamStreamLost(lost);
            Log.StreamEnded(_logger, _subscriber.Name, lost);
            _metrics.UpstreamReconnected();
            Log.Resubscribed(_logger, _subscriber.Name, next.ClientId);
            await _inbox.Writer.WriteAsync(new Inbound(InboundKind.Resubscribed, next.Id), stopping);
            return true;
        }

        _metrics.UpstreamRotated(reason);
        Log.Rotated(_logger, _subscriber.Name, reason, old.ClientId, next.ClientId);
        return true;
    }

    private static void CancelIfAlive(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The rotation is over; the old stream's end is handled by whoever owns it now.
        }
    }

    private void StartReader(StreamHandle handle) => handle.Reader = Task.Run(() => ReadAsync(handle));

    /// <summary>Reads one stream into the delivery loop; returns why it stopped.</summary>
    private async Task<string> ReadAsync(StreamHandle handle)
    {
        var stopping = _stopping.Token;
        var stream = handle.Stream;
        try
        {
            while (await stream.MoveNextAsync())
            {
                var item = stream.Current;
                if (item.Data.IsRecordEvent)
                {
                    var record = item.Data.Record;
                    _metrics.EventReceived(record.TryGetProperty("collectionName", out var name) ? name.GetString() : null);
                    var upstreamEvent = new UpstreamEvent(item.EventType, item.Data.Action!, record, _metrics.GetTimestamp());
                    await _inbox.Writer.WriteAsync(new Inbound(InboundKind.Event, handle.Id, upstreamEvent), stopping);
                }
                else if (item.EventType != UpstreamMessageParser.ConnectEventType)
                {
                    Log.UnexpectedMessage(_logger, _subscriber.Name, item.EventType);
                }
            }

            return stream.TimedOut ? "idle_timeout" : stream.Aborted ? "sync_failed" : "closed_by_server";
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return "stopped";
        }
        catch (Exception ex)
        {
            if (!handle.Retired)
            {
                Log.StreamFailed(_logger, _subscriber.Name, ex);
            }

            return "error";
        }
    }

    /// <summary>Hands events to the session in order, once each, and applies rotation steps between them.</summary>
    private async Task DeliverLoopAsync()
    {
        var dedup = new RotationDeduplicator();
        await foreach (var item in _inbox.Reader.ReadAllAsync())
        {
            switch (item.Kind)
            {
                case InboundKind.Event when dedup.ShouldDeliver(item.StreamId, item.Event, _timeProvider.GetTimestamp()):
                    await DeliverAsync(item.Event);
                    break;
                case InboundKind.Reset:
                    dedup.Reset(item.StreamId);
                    break;
                case InboundKind.Resubscribed:
                    await NotifyAsync(_subscriber.OnResubscribedAsync);
                    break;
                case InboundKind.BeginRotation:
                    dedup.BeginRotation();
                    break;
                case InboundKind.AddSuccessor:
                    dedup.AddSuccessor(item.StreamId);
                    break;
                case InboundKind.AbandonRotation:
                    dedup.AbandonRotation();
                    break;
                case InboundKind.CompleteRotation:
                    var completion = item.Completion!;
                    var released = dedup.CompleteRotation(completion.DropMatchesUntil, completion.RetiredTopics, completion.MissedBefore);
                    if (dedup.MissedByRetired > 0)
                    {
                        // The retired stream was cut before its rotation (a half-open connection that TCP keep-alive had
                        // not caught yet): what PocketBase sent on it since then is lost, a loss like any other.
                        _metrics.UpstreamStreamLost("cut_before_rotation");
                        Log.RetiredStreamWasCut(_logger, _subscriber.Name, dedup.MissedByRetired);
                        await NotifyAsync(_subscriber.OnResubscribedAsync);
                    }

                    foreach (var held in released)
                    {
                        await DeliverAsync(held);
                    }

                    break;
            }
        }
    }

    private async ValueTask DeliverAsync(UpstreamEvent upstreamEvent)
    {
        // One span per upstream event, covering its fan-out; free when nobody listens to the source.
        using var activity = RelayTelemetry.Source.StartActivity("relay.event", ActivityKind.Consumer);
        activity?.SetTag("relay.session", _subscriber.Name);
        activity?.SetTag("relay.topic", upstreamEvent.UpstreamTopic);
        activity?.SetTag("relay.action", upstreamEvent.Action);
        if (activity is not null && upstreamEvent.Record.TryGetProperty("collectionName", out var collection))
        {
            activity.SetTag("relay.collection", collection.GetString());
        }
        await NotifyAsync(() => _subscriber.OnEventAsync(upstreamEvent));
    }

    private async ValueTask NotifyAsync(Func<ValueTask> notify)
    {
        try
        {
            await notify();
        }
        catch (Exception ex)
        {
            // The delivery loop must outlive one failed fan-out, or the session would silently stop receiving.
            Log.DeliveryFailed(_logger, _subscriber.Name, ex);
        }
    }
}
