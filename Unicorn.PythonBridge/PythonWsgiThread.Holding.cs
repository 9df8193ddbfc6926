using System.Diagnostics;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge;

/// <summary>
/// Items of a streamed body that the app yields back to back leave together: one send(2) for several items
/// instead of one each, which costs this worker fewer system calls and the client fewer wake-ups. PEP 3333 lets a
/// server hold a block only if transmission continues while the app produces the next one, so an item is held
/// (copied into the response's buffer) only when the app produced it quickly, no more than
/// <see cref="HoldLimit"/> bytes are held, and a timer sends what is held when the app's next item has not come
/// within <see cref="HoldAtMost"/>. The first item always leaves at once, with the head.
/// </summary>
internal sealed unsafe partial class PythonWsgiThread
{
    // An item the app produced within this predicts that its next one comes as fast: it may be held.
    private static readonly long QuickItem = Stopwatch.Frequency / 10_000;
    private static readonly TimeSpan HoldAtMost = TimeSpan.FromMilliseconds(1);
    private const int HoldLimit = 512 * 1024;

    // Guards the sink between this thread and the hold timer, which only sends while the app produces an item.
    private readonly Lock _holdLock = new();
    private Timer? _holdTimer;
    private int _heldBytes;
    // Bytes are held and the timer may send them. Cleared last by the timer, so a clear read sees its failure.
    private volatile bool _holding;
    private Exception? _holdFailure;

    /// <summary>When the app's next item is about to be asked for: whether the one before came quickly.</summary>
    private static bool Quick(long started) => Stopwatch.GetTimestamp() - started < QuickItem;

    /// <summary>
    /// Writes one item, the GIL released: held (<paramref name="mayHold"/>: the app produced it quickly) while
    /// fewer than <see cref="HoldLimit"/> bytes are, else sent at once with what is held.
    /// </summary>
    private Outcome WriteItem(ReadOnlySpan<byte> data, bool mayHold)
    {
        ReleaseGil();
        try
        {
            lock (_holdLock)
            {
                if (mayHold && _heldBytes + data.Length < HoldLimit)
                {
                    _sink!.Write(data);
                    _heldBytes += data.Length;
                    _holding = true;
                    (_holdTimer ??= new Timer(static s => ((PythonWsgiThread)s!).SendHeld(), this, Timeout.Infinite, Timeout.Infinite))
                        .Change(HoldAtMost, Timeout.InfiniteTimeSpan);
                }
                else
                {
                    _holding = false;
                    _heldBytes = 0;
                    _sink!.WriteAndFlush(data);
                }
            }

            return Outcome.Done;
        }
        catch (Exception e) when (e is IOException or InvalidResponseException)
        {
            return SinkFailed(e);
        }
        finally
        {
            AcquireGil();
        }
    }

    /// <summary>
    /// Right after the app's next item (or its end, or its error), before anything else touches the sink: the
    /// timer may no longer send. ClientGone when a send it made failed.
    /// </summary>
    private Outcome StopHolding()
    {
        if (_holding)
        {
            EnterHoldLock();
            _holding = false;
            _holdLock.Exit();
        }

        if (_holdFailure is not { } failure)
        {
            return Outcome.Done;
        }

        _holdFailure = null;
        _heldBytes = 0;
        return SinkFailed(failure);
    }

    /// <summary>
    /// Takes the sink from the hold timer, holding the GIL: when the timer is sending right now, waits for it
    /// without the GIL (which the timer never takes), so the app's other threads run meanwhile.
    /// </summary>
    private void EnterHoldLock()
    {
        if (!_holdLock.TryEnter())
        {
            ReleaseGil();
            _holdLock.Enter();
            AcquireGil();
        }
    }

    /// <summary>At the end of every response, however it ended: nothing held and no timer send pending.</summary>
    private void EndHolding()
    {
        _ = StopHolding();
        _holdFailure = null;
        _heldBytes = 0;
    }

    /// <summary>The timer: the app has not produced its next item in time, so what is held leaves now.</summary>
    private void SendHeld()
    {
        lock (_holdLock)
        {
            if (!_holding)
            {
                return;
            }

            try
            {
                _sink!.Flush();
            }
            catch (Exception e)
            {
                // Reported to the app thread after the item it is producing; a timer callback must not throw.
                _holdFailure = e is IOException ? e : new IOException(e.Message, e);
            }

            _heldBytes = 0;
            _holding = false;
        }
    }
}
