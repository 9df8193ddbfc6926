using System.Diagnostics;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge;

/// <summary>
/// Items of a streamed body that the app yields back to back leave together: one send(2) for several items
/// instead of one each, which costs this worker fewer system calls and the client fewer wake-ups. PEP 3333 lets a
/// server hold a block only if transmission continues while the app produces the next one, so an item is held
/// (copied into the response's buffer) only when the app produced it quickly, no more than
/// <see cref="HoldLimit"/> bytes are held, and a sender thread sends what is held when the app's next item has not come
/// within <see cref="HoldAtMost"/>. The first item always leaves at once, with the head.
/// </summary>
internal sealed unsafe partial class PythonWsgiThread
{
    // An item the app produced within this predicts that its next one comes as fast: it may be held.
    private static readonly long QuickItem = Stopwatch.Frequency / 10_000;
    private static readonly long HoldAtMost = Stopwatch.Frequency / 1000;
    private const int HoldLimit = 512 * 1024;

    // Guards the sink between this thread and the hold sender, which only sends while the app produces an item.
    private readonly Lock _holdLock = new();
    // Set while bytes are held: the sender then wakes every millisecond. Not the thread pool's timers, which a
    // busy pool delays by up to its thread-injection interval (half a second).
    private readonly ManualResetEventSlim _holdArmed = new(false, spinCount: 0);
    private Thread? _holdSender;
    private int _heldBytes;
    private long _holdDeadline;
    // Bytes are held and the sender may send them. Cleared last by the sender, so a clear read sees its failure.
    private volatile bool _holding;
    private Exception? _holdFailure;

    /// <summary>Whether the app produced the item asked for at <paramref name="started"/> quickly.</summary>
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
                // Cleared first: after a failed write the error path uses the sink, and the sender must not.
                _holding = false;
                if (mayHold && _heldBytes + data.Length < HoldLimit)
                {
                    _sink!.Write(data);
                    _heldBytes += data.Length;
                    _holdDeadline = Stopwatch.GetTimestamp() + HoldAtMost;
                    _holding = true;
                    if (!_holdArmed.IsSet)
                    {
                        _holdSender ??= StartHoldSender();
                        _holdArmed.Set();
                    }
                }
                else
                {
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
    /// sender may no longer send. ClientGone when a send it made failed.
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
    /// Takes the sink from the hold sender, holding the GIL: when the sender is sending right now, waits for it
    /// without the GIL (which the sender never takes), so the app's other threads run meanwhile.
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

    /// <summary>At the end of every response, however it ended: nothing held and no send pending.</summary>
    private void EndHolding()
    {
        _ = StopHolding();
        _holdFailure = null;
        _heldBytes = 0;
    }

    private Thread StartHoldSender()
    {
        var thread = new Thread(SendHeldLoop) { IsBackground = true, Name = "unicorn-hold" };
        thread.Start();
        return thread;
    }

    /// <summary>
    /// The hold sender: while bytes are held, wakes every millisecond and sends them once the app has spent
    /// <see cref="HoldAtMost"/> on its next item; sleeps on <see cref="_holdArmed"/> otherwise.
    /// </summary>
    private void SendHeldLoop()
    {
        while (true)
        {
            _holdArmed.Wait();
            if (_disposed)
            {
                return;
            }

            Thread.Sleep(1);
            lock (_holdLock)
            {
                if (_holding && Stopwatch.GetTimestamp() >= _holdDeadline)
                {
                    SendHeld();
                }

                if (!_holding)
                {
                    _holdArmed.Reset();
                }
            }
        }
    }

    /// <summary>Under the lock: the app has not produced its next item in time, so what is held leaves now.</summary>
    private void SendHeld()
    {
        try
        {
            _sink!.Flush();
        }
        catch (Exception e)
        {
            // Reported to the app thread after the item it is producing; this thread must not die of it.
            _holdFailure = e is IOException ? e : new IOException(e.Message, e);
        }

        _heldBytes = 0;
        _holding = false;
    }
}
