using System.Net.Sockets;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// The gthread worker's accepting: each idle Python thread waits in an epoll set of its own on the listeners and on
/// an eventfd the host writes when an open connection queues a request, accepts one connection and runs it on that
/// thread up to its first wait for bytes. A connection per request is then read, run in the app, answered and closed
/// on one thread, as on the sync worker (<see cref="IdleAcceptor"/>), with no hand-over from the epoll thread.
/// </summary>
/// <remarks>
/// The listeners and the eventfd are in every set with <c>EPOLLEXCLUSIVE</c>, so the kernel wakes one waiting
/// thread per connection or queued request, not all of them. While every Python thread is busy, gthread still
/// accepts up to worker_connections, as Gunicorn's: a fallback thread (no Python) has its own set, registered after
/// the Python threads' ones, and the kernel offers an exclusive wake-up in registration order to sets with a
/// waiter, so the fallback is woken only when no Python thread waits. It hands the connection on as the async
/// accept loop does (its request queued for the next free thread).
/// </remarks>
internal sealed unsafe class ThreadedAcceptor : IWorkerAcceptor
{
    // Event tags: a listener's index, or one of these.
    private const ulong WorkTag = ulong.MaxValue;
    private const ulong StopTag = ulong.MaxValue - 1;
    private const int MaxEvents = 8;

    // When every connection slot is taken, how often to look for a freed one (eviction frees them asynchronously).
    private const int FullRetryMs = 10;

    private readonly IReadOnlyList<ListenerInfo> _listeners;
    private readonly SemaphoreSlim _slots;
    private readonly IdleConnections _idle;
    private readonly Action<Socket, ListenerInfo> _serve;
    private readonly IErrorLog _log;
    private readonly CancellationToken _stop;
    private readonly CancellationTokenRegistration _onStop;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _firstBytesWaitUs;
    // A counter (EFD_SEMAPHORE): one per queued request, each read takes one, so each wakes one thread.
    private readonly int _workFd;
    // Written once each, never reset: stop wakes every set; open ends the hold (looked at only while held).
    private readonly int _stopFd;
    private readonly int _openFd;
    private readonly int[] _sets;
    private readonly int _fallbackSet;
    private readonly bool[] _lastWaitTimedOut;
    private readonly Thread _fallback;
    private int _inside;
    private int _stopping;
    private volatile bool _held;

    public ThreadedAcceptor(int threads, IReadOnlyList<ListenerInfo> listeners, SemaphoreSlim slots, IdleConnections idle, Action<Socket, ListenerInfo> serve, IErrorLog log, CancellationToken stop, TimeSpan? firstBytesWait = null)
    {
        _listeners = listeners;
        _slots = slots;
        _idle = idle;
        _serve = serve;
        _log = log;
        _stop = stop;
        _firstBytesWaitUs = (int)(firstBytesWait ?? IdleAcceptor.DefaultFirstBytesWait).TotalMicroseconds;
        _lastWaitTimedOut = new bool[threads];
        _workFd = EventFd(Libc.EFD_SEMAPHORE);
        _stopFd = EventFd(0);
        _openFd = EventFd(0);
        _sets = new int[threads];
        for (var i = 0; i < threads; i++)
        {
            _sets[i] = NewSet(withWork: true);
        }

        // Last, so that each listener wakes it only when no Python thread's set has a waiter.
        _fallbackSet = NewSet(withWork: false);
        _fallback = new Thread(RunFallback) { IsBackground = true, Name = "unicorn-accept" };
        _onStop = stop.Register(static s => ((ThreadedAcceptor)s!).OnStop(), this);
    }

    public Task Completion => _stopped.Task;

    public void Start(bool held = false)
    {
        _held = held;
        foreach (var listener in _listeners)
        {
            // accept(2) answers EAGAIN instead of blocking when another thread or worker took the connection first.
            listener.Socket.Blocking = false;
        }

        _fallback.Start();
    }

    public void Open()
    {
        if (_held)
        {
            _held = false;
            Signal(_openFd);
        }
    }

    public void Wake() => Signal(_workFd);

    public bool WaitOrServe(int thread)
    {
        if (!Enter())
        {
            return false;
        }

        try
        {
            WaitAndServeOne(_sets[thread], thread);
        }
        catch (Exception e)
        {
            _log.Error($"Error accepting a connection: {e}");
        }
        finally
        {
            Exit();
        }

        return Volatile.Read(ref _stopping) == 0;
    }

    public void Dispose()
    {
        _onStop.Dispose();
        // The fallback thread must be out of its set before the descriptors close under it.
        OnStop();
        if (_fallback.IsAlive)
        {
            _fallback.Join(TimeSpan.FromSeconds(5));
        }

        foreach (var set in _sets)
        {
            _ = Libc.close(set);
        }

        _ = Libc.close(_fallbackSet);
        _ = Libc.close(_workFd);
        _ = Libc.close(_stopFd);
        _ = Libc.close(_openFd);
    }

    private void WaitAndServeOne(int set, int thread)
    {
        if (_held)
        {
            WaitWhileHeld();
            return;
        }

        var events = stackalloc byte[MaxEvents * Libc.EpollEventSize];
        var n = Libc.epoll_wait(set, events, MaxEvents, -1);
        var listener = -1;
        for (var i = 0; i < n; i++)
        {
            var tag = Libc.EpollData(events, i);
            if (tag == StopTag)
            {
                return;
            }

            if (tag == WorkTag)
            {
                // A queued request is this thread's to run: take the token and go back to the host's queue. A
                // listener that was ready too stays ready (level-triggered) for the next wait.
                if (TakeToken())
                {
                    return;
                }
            }
            else if (listener < 0)
            {
                listener = (int)tag;
            }
        }

        if (listener >= 0)
        {
            AcceptOne(_listeners[listener], thread);
        }
    }

    /// <summary>Accepts one connection and runs it on this thread; on a Python thread, the request inline.</summary>
    private void AcceptOne(ListenerInfo listener, int thread)
    {
        if (!_slots.Wait(0))
        {
            // Full: make room by closing the connection idle longest, and look again shortly (the listener stays
            // readable, so waiting on it now would spin).
            _idle.EvictOldest();
            var fd = new Libc.PollFd { Fd = _stopFd, Events = Libc.POLLIN };
            _ = Libc.poll(&fd, 1, FullRetryMs);
            return;
        }

        Socket client;
        try
        {
            client = listener.Socket.Accept();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Taken by another thread or worker first (EAGAIN), or reset before it was accepted.
            _slots.Release();
            return;
        }

        if (thread >= 0)
        {
            FirstBytes.Wait(client, _firstBytesWaitUs, ref _lastWaitTimedOut[thread]);
        }

        _serve(client, listener);
    }

    /// <summary>Accepts while every Python thread is busy (the kernel wakes this set only then).</summary>
    private void RunFallback()
    {
        var events = stackalloc byte[MaxEvents * Libc.EpollEventSize];
        while (Enter())
        {
            try
            {
                if (_held)
                {
                    WaitWhileHeld();
                    continue;
                }

                var n = Libc.epoll_wait(_fallbackSet, events, MaxEvents, -1);
                for (var i = 0; i < n; i++)
                {
                    var tag = Libc.EpollData(events, i);
                    if (tag != StopTag && !_stop.IsCancellationRequested)
                    {
                        AcceptOne(_listeners[(int)tag], thread: -1);
                        break;
                    }
                }
            }
            catch (Exception e)
            {
                _log.Error($"Error accepting a connection: {e}");
            }
            finally
            {
                Exit();
            }
        }
    }

    private void WaitWhileHeld()
    {
        var fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = _openFd, Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = _stopFd, Events = Libc.POLLIN };
        _ = Libc.poll(fds, 2, -1);
    }

    /// <summary>Counts a thread in; false once stopping (it then must not wait on the listeners).</summary>
    private bool Enter()
    {
        Interlocked.Increment(ref _inside);
        if (Volatile.Read(ref _stopping) == 0)
        {
            return true;
        }

        Exit();
        return false;
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _inside) == 0 && Volatile.Read(ref _stopping) != 0)
        {
            _stopped.TrySetResult();
        }
    }

    private void OnStop()
    {
        if (Interlocked.Exchange(ref _stopping, 1) != 0)
        {
            return;
        }

        Signal(_stopFd);
        if (Volatile.Read(ref _inside) == 0)
        {
            _stopped.TrySetResult();
        }
    }

    private bool TakeToken()
    {
        ulong value;
        return Libc.read(_workFd, (byte*)&value, sizeof(ulong)) == sizeof(ulong);
    }

    private int NewSet(bool withWork)
    {
        var set = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
        if (set < 0)
        {
            throw new IOException($"epoll_create1: {Libc.StrError(Libc.Errno)}");
        }

        Add(set, _stopFd, Libc.EPOLLIN, StopTag);
        if (withWork)
        {
            Add(set, _workFd, Libc.EPOLLIN | Libc.EPOLLEXCLUSIVE, WorkTag);
        }

        for (var i = 0; i < _listeners.Count; i++)
        {
            Add(set, (int)_listeners[i].Socket.Handle, Libc.EPOLLIN | Libc.EPOLLEXCLUSIVE, (ulong)i);
        }

        return set;
    }

    private static void Add(int set, int fd, uint events, ulong tag)
    {
        if (Libc.EpollAdd(set, fd, events, tag) < 0)
        {
            throw new IOException($"epoll_ctl: {Libc.StrError(Libc.Errno)}");
        }
    }

    private static int EventFd(int flags)
    {
        var fd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK | flags);
        if (fd < 0)
        {
            throw new IOException($"eventfd: {Libc.StrError(Libc.Errno)}");
        }

        return fd;
    }

    private static void Signal(int fd)
    {
        ulong one = 1;
        _ = Libc.write(fd, (byte*)&one, sizeof(ulong));
    }
}
