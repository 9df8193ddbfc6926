using System.Net.Sockets;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// The sync worker's accept loop, run by its Python thread whenever that thread is idle (Gunicorn's sync
/// worker accepts only when free, too): poll(2) on the listeners and an eventfd the host writes when a
/// keep-alive connection queues a request, then accept one connection and run it on this thread up to its
/// first wait for bytes. A connection per request is then read, run in the app, answered and closed on one
/// thread, without the hand-over from the epoll thread to the Python thread.
/// </summary>
internal sealed class IdleAcceptor : IIdleAcceptor, IDisposable
{
    private const int Outside = 0;
    private const int Inside = 1;
    private const int Stopped = 2;

    // When every connection slot is taken, how often to look for a freed one (eviction frees them asynchronously).
    private const int FullRetryMs = 10;

    /// <summary>
    /// How long the idle thread waits for a new connection's first bytes before handing it to the epoll thread.
    /// A proxy (nginx's default proxy_pass) connects, then writes once its connect completes: the request comes
    /// tens of microseconds after the accept, and waiting for it here serves it on this thread, without the hop
    /// from the epoll thread. Short, so a client that connects and sends nothing holds this thread no longer.
    /// </summary>
    public static readonly TimeSpan DefaultFirstBytesWait = TimeSpan.FromMilliseconds(1);

    /// <summary>How many waiting connections one look between queued requests accepts at most.</summary>
    private const int WaitingBatch = 16;

    private readonly IReadOnlyList<ListenerInfo> _listeners;
    private readonly bool[] _closed;
    private readonly SemaphoreSlim _slots;
    private readonly IdleConnections _idle;
    private readonly Action<Socket, ListenerInfo> _serve;
    private readonly IErrorLog _log;
    private readonly CancellationToken _stop;
    private readonly CancellationTokenRegistration _onStop;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _wakeFd;
    private readonly int _firstBytesWaitUs;
    private bool _lastWaitTimedOut; // only the accepting thread reads and writes it
    private int _open;
    private int _state;
    private int _wakePending;
    private int _next;
    // Held (a parked spare): the thread waits on the eventfd alone, taking no connection, until Open.
    private volatile bool _held;
    private bool _starved; // out of descriptors or memory until the headroom is back; only the accepting thread uses it

    /// <summary>Where a shortage at accept(2) is reported (the worker's, shared with its async loops).</summary>
    public AcceptShortage? Shortage { get; init; }

    public IdleAcceptor(IReadOnlyList<ListenerInfo> listeners, SemaphoreSlim slots, IdleConnections idle, Action<Socket, ListenerInfo> serve, IErrorLog log, CancellationToken stop, TimeSpan? firstBytesWait = null)
    {
        _listeners = listeners;
        _closed = new bool[listeners.Count];
        _open = listeners.Count;
        _slots = slots;
        _idle = idle;
        _serve = serve;
        _log = log;
        _stop = stop;
        _firstBytesWaitUs = (int)(firstBytesWait ?? DefaultFirstBytesWait).TotalMicroseconds;
        _wakeFd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wakeFd < 0)
        {
            throw new IOException($"eventfd: {Libc.StrError(Libc.Errno)}");
        }

        _onStop = stop.Register(static s => ((IdleAcceptor)s!).OnStop(), this);
    }

    /// <summary>
    /// Completes once accepting has stopped and the thread is out of poll(2) (or never entered it), so the
    /// worker may then drain and close the listeners.
    /// </summary>
    public Task Completion => _stopped.Task;

    /// <summary>
    /// Called once the host has agreed to accept on its idle thread, before it starts. <paramref name="held"/>:
    /// the thread waits without accepting until <see cref="Open"/>.
    /// </summary>
    public void Start(bool held = false)
    {
        _held = held;
        foreach (var listener in _listeners)
        {
            // accept(2) answers EAGAIN instead of blocking when another worker took the connection first.
            listener.Socket.Blocking = false;
        }
    }

    public bool WaitOrServe() => Enter(wait: true);

    public bool AcceptWaiting() => Enter(wait: false);

    /// <summary>
    /// Waits for and serves one connection (<paramref name="wait"/>), or accepts those already waiting, unless
    /// accepting has stopped; false once it has. (A bool, not a delegate: this runs once per accepted connection.)
    /// </summary>
    private bool Enter(bool wait)
    {
        if (Interlocked.CompareExchange(ref _state, Inside, Outside) != Outside)
        {
            return false;
        }

        try
        {
            if (!_stop.IsCancellationRequested)
            {
                if (wait)
                {
                    WaitAndServeOne();
                }
                else
                {
                    AcceptWithoutWaiting();
                }
            }
        }
        catch (Exception e)
        {
            _log.Error($"Error accepting a connection: {e}");
        }
        finally
        {
            if (_stop.IsCancellationRequested || _open == 0)
            {
                Volatile.Write(ref _state, Stopped);
                _stopped.TrySetResult();
            }
            else
            {
                Volatile.Write(ref _state, Outside);
            }
        }

        return Volatile.Read(ref _state) != Stopped;
    }

    /// <summary>Ends the hold: the waiting thread wakes and polls the listeners.</summary>
    public void Open()
    {
        if (_held)
        {
            _held = false;
            Wake();
        }
    }

    public unsafe void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            _ = Libc.write(_wakeFd, (byte*)&one, sizeof(ulong));
        }
    }

    public void Dispose()
    {
        _onStop.Dispose();
        _ = Libc.close(_wakeFd);
    }

    private void OnStop()
    {
        if (Interlocked.CompareExchange(ref _state, Stopped, Outside) == Outside)
        {
            _stopped.TrySetResult();
        }
        else
        {
            Wake();
        }
    }

    private unsafe void WaitAndServeOne()
    {
        if (_held)
        {
            // Woken by Open, a stop, or work queued (none while held): WaitOrServe's caller comes back.
            var wake = new Libc.PollFd { Fd = _wakeFd, Events = Libc.POLLIN };
            if (Libc.poll(&wake, 1, -1) > 0)
            {
                ClearWake();
            }

            return;
        }

        var haveSlot = _slots.Wait(0);
        if (!haveSlot)
        {
            // Full: make room by closing the connection idle longest, and look again shortly.
            _idle.EvictOldest();
        }

        var fds = stackalloc Libc.PollFd[1 + _listeners.Count];
        fds[0] = new Libc.PollFd { Fd = _wakeFd, Events = Libc.POLLIN };
        var polled = stackalloc int[_listeners.Count];
        var count = 1 + (haveSlot ? AddListeners(fds + 1, polled) : 0);

        if (haveSlot && count == 1)
        {
            // Every listener is gone: nothing to wait for.
            _slots.Release();
            return;
        }

        var ready = Libc.poll(fds, (nuint)count, haveSlot ? -1 : FullRetryMs);
        var queued = ready > 0 && fds[0].Revents != 0;
        if (queued)
        {
            ClearWake();
        }

        if (haveSlot && (ready <= 0 || !AcceptOne(fds + 1, polled, count - 1, queued)))
        {
            _slots.Release();
        }

        if (_starved)
        {
            // Polling the listeners again now would return at once: wait on the eventfd alone (a queued request
            // still wakes the thread) before the next try, which waits for the descriptor headroom to be back.
            var wake = new Libc.PollFd { Fd = _wakeFd, Events = Libc.POLLIN };
            _ = Libc.poll(&wake, 1, (int)AcceptShortage.Backoff.TotalMilliseconds);
            _starved = Shortage?.HasHeadroom() == false;
        }
    }

    /// <summary>
    /// Between queued requests: accepts the connections already waiting in the listen queues, at most
    /// <see cref="WaitingBatch"/>, and runs each up to its first request, which queues behind the others.
    /// </summary>
    private unsafe void AcceptWithoutWaiting()
    {
        if (_held)
        {
            return;
        }

        var fds = stackalloc Libc.PollFd[_listeners.Count];
        var polled = stackalloc int[_listeners.Count];
        var count = AddListeners(fds, polled);
        for (var accepted = 0; accepted < WaitingBatch && count > 0 && Libc.poll(fds, (nuint)count, 0) > 0; accepted++)
        {
            if (!_slots.Wait(0))
            {
                return;
            }

            if (!AcceptOne(fds, polled, count, queued: true))
            {
                _slots.Release();
                return;
            }
        }
    }

    /// <summary>Puts the open listeners in <paramref name="fds"/>, their indexes in <paramref name="polled"/>; how many.</summary>
    private unsafe int AddListeners(Libc.PollFd* fds, int* polled)
    {
        var count = 0;
        for (var i = 0; i < _listeners.Count; i++)
        {
            if (!_closed[i] && TryGetFd(i, out var fd))
            {
                polled[count] = i;
                fds[count++] = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
            }
        }

        return count;
    }

    /// <summary>
    /// Accepts from one ready listener (taking turns) and runs the connection; false when none was accepted.
    /// <paramref name="queued"/>: an open connection's request is waiting for this thread too.
    /// </summary>
    private unsafe bool AcceptOne(Libc.PollFd* fds, int* polled, int count, bool queued)
    {
        if (_starved)
        {
            return false; // the shortage goes on until the headroom is back (WaitAndServeOne)
        }

        for (var n = 0; n < count && !_stop.IsCancellationRequested; n++)
        {
            var k = (_next + n) % count;
            var revents = fds[k].Revents;
            if (revents == 0)
            {
                continue;
            }

            var index = polled[k];
            var listener = _listeners[index];
            if ((revents & Libc.POLLNVAL) != 0)
            {
                MarkClosed(index);
                continue;
            }

            Socket client;
            try
            {
                client = listener.Socket.Accept();
            }
            catch (SocketException e) when (AcceptShortage.Is(e.SocketErrorCode))
            {
                // Out of descriptors or memory: the listener stays readable, so WaitAndServeOne backs off.
                Shortage?.Report(e.SocketErrorCode);
                _starved = true;
                return false;
            }
            catch (SocketException)
            {
                // Taken by another worker first (EAGAIN), or reset before it was accepted.
                continue;
            }
            catch (ObjectDisposedException)
            {
                MarkClosed(index);
                continue;
            }

            _next = k + 1;
            _starved = Shortage?.Accepted(client) == false; // this one is served; the next waits for headroom
            WaitForFirstBytes(client, queued);
            _serve(client, listener);
            return true;
        }

        return false;
    }

    private void WaitForFirstBytes(Socket client, bool queued)
    {
        if (queued || Volatile.Read(ref _wakePending) != 0)
        {
            // A request queued on an open connection is waiting for this thread: it does not wait for more.
            return;
        }

        try
        {
            // poll(2) returns at once when the request is already there (wrk's, usually). After a wait that timed
            // out, only look: a run of connections that send nothing (a flood of idle ones) then costs this
            // thread one wait, not one each, until a connection again brings its bytes.
            var arrived = client.Poll(_lastWaitTimedOut ? 0 : _firstBytesWaitUs, SelectMode.SelectRead);
            _lastWaitTimedOut = !arrived;
        }
        catch (SocketException)
        {
            // The connection's first read reports it.
        }
    }

    private bool TryGetFd(int index, out int fd)
    {
        try
        {
            fd = (int)_listeners[index].Socket.Handle;
            return true;
        }
        catch (ObjectDisposedException)
        {
            MarkClosed(index);
            fd = -1;
            return false;
        }
    }

    private void MarkClosed(int index)
    {
        if (!_closed[index])
        {
            _closed[index] = true;
            _open--;
        }
    }

    /// <summary>
    /// Resets the eventfd, then lets the next <see cref="Wake"/> write again: in this order a wake that comes
    /// in between is either skipped (its work was queued before the host looks at the queue) or left readable.
    /// </summary>
    private unsafe void ClearWake()
    {
        ulong value;
        _ = Libc.read(_wakeFd, (byte*)&value, sizeof(ulong));
        Interlocked.Exchange(ref _wakePending, 0);
    }
}
