using System.Diagnostics;
using System.Net.Sockets;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// gthread's accepting while its Python threads are busy. One idle Python thread at a time accepts and serves
/// connections inline (<see cref="IdleAcceptor"/>, as the sync worker's thread; the others sleep until a request is
/// queued for them), so a connection per request costs no thread hand-over. When that thread has not been back
/// to the listeners for <see cref="DefaultPatience"/> (a slow request, or every thread busy), this thread (no
/// Python) accepts what is waiting and hands it on as the async accept loop does: its request is queued for the
/// next free Python thread, and gthread accepts up to worker_connections, as Gunicorn's.
/// </summary>
/// <remarks>
/// It looks once a millisecond while requests are being served, and sleeps until the accepting thread next leaves
/// the listeners once that thread has waited on them for <see cref="IdleAfter"/>, so an idle worker is not woken.
/// </remarks>
internal sealed class BusyAcceptor
{
    /// <summary>How long new connections may wait for the accepting thread before this thread takes them.</summary>
    public static readonly TimeSpan DefaultPatience = TimeSpan.FromMilliseconds(1);

    private static readonly long IdleAfter = Stopwatch.Frequency / 10;

    private readonly IdleAcceptor _leader;
    private readonly IReadOnlyList<ListenerInfo> _listeners;
    private readonly SemaphoreSlim _slots;
    private readonly IdleConnections _idle;
    private readonly Action<Socket, ListenerInfo> _serve;
    private readonly IErrorLog _log;
    private readonly CancellationToken _stop;
    private readonly long _patience;
    private readonly Thread _thread;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public BusyAcceptor(IdleAcceptor leader, IReadOnlyList<ListenerInfo> listeners, SemaphoreSlim slots, IdleConnections idle, Action<Socket, ListenerInfo> serve, IErrorLog log, CancellationToken stop, TimeSpan? patience = null)
    {
        _leader = leader;
        _listeners = listeners;
        _slots = slots;
        _idle = idle;
        _serve = serve;
        _log = log;
        _stop = stop;
        _patience = (long)((patience ?? DefaultPatience).TotalSeconds * Stopwatch.Frequency);
        _thread = new Thread(Run) { IsBackground = true, Name = "unicorn-accept" };
    }

    /// <summary>Completes once the thread has stopped accepting, so the listeners may be closed.</summary>
    public Task Completion => _stopped.Task;

    public void Start() => _thread.Start();

    private void Run()
    {
        try
        {
            var busySince = Stopwatch.GetTimestamp();
            while (!_stop.IsCancellationRequested)
            {
                Thread.Sleep(1);
                if (_leader.IsHeld)
                {
                    continue;
                }

                var now = Stopwatch.GetTimestamp();
                var left = _leader.LeftListenersAt;
                if (left != 0)
                {
                    busySince = now;
                    if (now - left >= _patience)
                    {
                        AcceptWaiting();
                    }
                }
                else if (now - busySince > IdleAfter && _leader.CallOnLeave(Wake))
                {
                    // The accepting thread has waited on the listeners a while: sleep until it leaves them (the timeout
                    // only guards against a lost wake-up).
                    _wake.Wait(TimeSpan.FromSeconds(1), _stop);
                    busySince = Stopwatch.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            _log.Error($"Error accepting a connection: {e}");
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    /// <summary>Accepts every connection waiting, until the accepting thread is back on the listeners.</summary>
    private void AcceptWaiting()
    {
        foreach (var listener in _listeners)
        {
            while (!_stop.IsCancellationRequested && _leader.LeftListenersAt != 0)
            {
                if (!_slots.Wait(0))
                {
                    // Full: make room by closing the connection idle longest; the next look finds the slot.
                    _idle.EvictOldest();
                    return;
                }

                Socket client;
                try
                {
                    // The listener is non-blocking (IdleAcceptor.Start): EAGAIN when nothing waits.
                    client = listener.Socket.Accept();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    _slots.Release();
                    break;
                }

                _serve(client, listener);
            }
        }
    }
}
