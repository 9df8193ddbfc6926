using System.Diagnostics;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>
/// The threaded app host, the worker's Python threads: N dedicated OS threads (sync: 1, gthread:
/// --threads), each attached to the app once for its whole life, so it keeps one Python thread state (threading.local survives
/// between requests). Requests never run on thread-pool threads or await continuations.
/// </summary>
/// <remarks>
/// The hand-off is a plain queue under a monitor. Idle threads sleep in <see cref="Monitor.Wait(object)"/>
/// instead of spinning first (as BlockingCollection does): on a busy machine a spinning waiter burns the
/// very CPU the connection that will feed it needs, which measured at twice the CPU per request.
/// With one thread (sync) and an <see cref="IIdleAcceptor"/>, the idle thread accepts connections itself and
/// runs a request its own connection hands over inline: a connection per request then costs no hand-over
/// between the thread its bytes arrive on and the Python thread.
/// </remarks>
internal sealed class AppThreadPool : IAppHost
{
    private readonly Queue<AppWorkItem> _queue = new();
    private readonly Thread[] _threads;
    private int _started; // how many of _threads Start could start (fewer when the system refused threads)
    private int _serving = int.MaxValue; // threads at or above this index end at once: headroom after a refusal
    private readonly ManualResetEventSlim _startGate = new();

    /// <summary>Threads given back when the system refuses one, for the runtime's own.</summary>
    private const int ThreadHeadroom = 8;
    private readonly long[] _busySince;
    private readonly WsgiRequest?[] _current;
    private readonly IResponseSink?[] _sinks;
    private readonly nuint[] _threadIds;
    private readonly IWsgiApplication _app;
    private readonly IErrorLog _log;
    private int _busy;
    private int _idle;
    private bool _addingCompleted;
    private IIdleAcceptor? _acceptor;
    // The thread is in the acceptor (waiting, or running a connection it accepted): work queued wakes it there.
    private bool _accepting;
    private IWsgiThread? _acceptingHandler;

    // How long queued requests may keep the sync thread from the listen queue before it looks there between them.
    // Not at every request: a connection accepted between requests is not served where its bytes arrive, which
    // costs a connection per request a thread hop (when the queue empties, the thread accepts anyway).
    private static readonly long LookAfter = Stopwatch.Frequency * 5 / 1000;

    // When the sync thread last looked at the listen queue; whether, and since when, it runs requests of the
    // connection it accepted (only that thread uses them).
    private long _lastAccepting;
    private bool _ranInline;
    private long _inlineSince;

    // Set on the thread while its acceptor runs: RunAsync called there runs the request inline.
    [ThreadStatic]
    private static AppThreadPool? t_accepting;

    public AppThreadPool(IWsgiApplication app, int threads, IErrorLog log)
    {
        _app = app;
        _log = log;
        _threads = new Thread[threads];
        _busySince = new long[threads];
        _current = new WsgiRequest?[threads];
        _sinks = new IResponseSink?[threads];
        _threadIds = new nuint[threads];
        for (var i = 0; i < threads; i++)
        {
            var index = i;
            _threads[i] = new Thread(() => Run(index)) { IsBackground = true, Name = $"unicorn-app-{i}" };
        }
    }

    /// <summary>Threads that are running a request right now.</summary>
    public int Busy => Volatile.Read(ref _busy);

    /// <summary>The threads: each runs one request at a time.</summary>
    public int Capacity => _threads.Length;

    /// <summary>Requests waiting for a free thread.</summary>
    public int Queued
    {
        get
        {
            lock (_queue)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Only the one-thread host (sync) accepts itself: gthread accepts up to worker_connections, as Gunicorn's.</summary>
    public bool AcceptWhenIdle(IIdleAcceptor acceptor)
    {
        if (_threads.Length != 1)
        {
            return false;
        }

        _acceptor = acceptor;
        return true;
    }

    public void Start()
    {
        var started = 0;
        foreach (var t in _threads)
        {
            try
            {
                t.Start();
            }
            catch (OutOfMemoryException) when (started > 0)
            {
                // clone(2) refused (EAGAIN: ulimit -u, a cgroup's pids.max): .NET reports it as out of memory.
                break;
            }

            started++;
        }

        _started = started;
        if (started < _threads.Length)
        {
            // At the limit, the runtime's own next thread (the thread pool's, this worker's or the master's at its
            // stop) would abort the process: give some back before they attach to Python.
            _serving = Math.Max(1, started - ThreadHeadroom);
            _log.Warning($"Started {_serving} of {_threads.Length} threads: the system refused more (ulimit -u or the cgroup's pids.max); requests queue for those {_serving}");
        }

        _startGate.Set();
    }

    /// <summary>Runs the request on a Python thread; completes when the response has been written.</summary>
    public Task RunAsync(WsgiRequest request, IResponseSink sink)
    {
        if (t_accepting == this && _acceptingHandler is { } handler && MayRunInline())
        {
            // The idle thread's own connection: run it here rather than queue it for this very thread.
            var failure = Invoke(0, handler, request, sink);
            return failure is null ? Task.CompletedTask : Task.FromException(failure);
        }

        var item = new AppWorkItem(request, sink);
        IIdleAcceptor? wake = null;
        lock (_queue)
        {
            ObjectDisposedException.ThrowIf(_addingCompleted, this);
            _queue.Enqueue(item);
            if (_idle > 0)
            {
                Monitor.Pulse(_queue);
            }
            else if (_accepting && t_accepting != this)
            {
                // (The accepting thread queues its own connection's request only on its way back to the queue.)
                wake = _acceptor;
            }
        }

        wake?.Wake();
        return item.Completion.Task;
    }

    /// <summary>
    /// On the accepting thread: its connection's first request runs there; the next ones only while no other
    /// connection's request waits and for <see cref="LookAfter"/> at most. A client that has its next request
    /// there as soon as it has the answer (wrk, a busy load balancer, pipelining) would otherwise keep the thread
    /// to itself, and the worker's other connections, open or in the listen queue, would wait (p99 of hundreds of
    /// ms with one worker under load). Queued instead, its next request takes its turn.
    /// </summary>
    private bool MayRunInline()
    {
        var now = Stopwatch.GetTimestamp();
        if (!_ranInline)
        {
            _ranInline = true;
            _inlineSince = now;
            return true;
        }

        if (now - _inlineSince >= LookAfter)
        {
            return false;
        }

        lock (_queue)
        {
            return _queue.Count == 0;
        }
    }

    /// <summary>
    /// False when a request has held its thread longer than <paramref name="stuck"/> on every thread:
    /// the worker can then serve nobody, which is what the master's timeout is for.
    /// </summary>
    public bool IsResponsive(TimeSpan stuck)
    {
        var now = Environment.TickCount64;
        var limit = (long)stuck.TotalMilliseconds;
        foreach (ref var since in _busySince.AsSpan())
        {
            var s = Volatile.Read(ref since);
            if (s == 0 || now - s <= limit)
            {
                return true;
            }
        }

        return false;
    }

    public long? AllBusySince()
    {
        long latest = 0;
        foreach (ref var since in _busySince.AsSpan())
        {
            var s = Volatile.Read(ref since);
            if (s == 0)
            {
                return null;
            }

            latest = Math.Max(latest, s);
        }

        return latest;
    }

    public IReadOnlyList<RunningRequest> RunningLongerThan(TimeSpan limit)
    {
        var now = Environment.TickCount64;
        var found = new List<RunningRequest>();
        for (var i = 0; i < _threads.Length; i++)
        {
            var since = Volatile.Read(ref _busySince[i]);
            var request = Volatile.Read(ref _current[i]);
            if (since != 0 && request is not null && now - since > limit.TotalMilliseconds
                && Volatile.Read(ref _busySince[i]) == since)
            {
                found.Add(new RunningRequest(request.Method, request.RawUri, TimeSpan.FromMilliseconds(now - since), _threadIds[i], since));
            }
        }

        return found;
    }

    public IReadOnlyList<(RunningRequest Running, WsgiRequest Request)> AnswerAbortedRequests()
    {
        var now = Environment.TickCount64;
        var answered = new List<(RunningRequest, WsgiRequest)>();
        for (var i = 0; i < _threads.Length; i++)
        {
            var since = Volatile.Read(ref _busySince[i]);
            if (since != 0 && Volatile.Read(ref _current[i]) is { } request && Volatile.Read(ref _sinks[i]) is { } sink
                && sink.TryAnswerAbortedRequest())
            {
                answered.Add((new RunningRequest(request.Method, request.RawUri, TimeSpan.FromMilliseconds(now - since), _threadIds[i], since), request));
            }
        }

        return answered;
    }

    /// <summary>Lets the threads finish queued work and detach from the app, waiting at most <paramref name="timeout"/>.</summary>
    public Task<bool> StopAsync(TimeSpan timeout)
    {
        CompleteAdding();
        // Python threads detach on their own threads; a stuck one cannot be waited for forever.
        return Task.Run(() => Join(timeout));
    }

    private void CompleteAdding()
    {
        IIdleAcceptor? wake;
        lock (_queue)
        {
            _addingCompleted = true;
            Monitor.PulseAll(_queue);
            wake = _accepting ? _acceptor : null;
        }

        wake?.Wake();
    }

    private bool Join(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        foreach (var t in _threads.AsSpan(0, _started))
        {
            var left = Math.Max(0, deadline - Environment.TickCount64);
            if (!t.Join(TimeSpan.FromMilliseconds(left)))
            {
                return false;
            }
        }

        return true;
    }

    private void Run(int index)
    {
        _startGate.Wait();
        if (index >= _serving)
        {
            return;
        }

        IWsgiThread handler;
        try
        {
            handler = _app.AttachThread();
        }
        catch (Exception e)
        {
            _log.Critical($"Failed to attach app thread: {e.Message}");
            FailQueued(e);
            return;
        }

        _threadIds[index] = Interop.Libc.pthread_self();
        using (handler)
        {
            while (Take(handler) is { } item)
            {
                var failure = Invoke(index, handler, item.Request, item.Sink);

                // The connection's continuation runs here, outside Python, up to its next await (log the
                // request, start reading the next one): one thread hop fewer per request.
                if (failure is null)
                {
                    item.Completion.TrySetResult();
                }
                else
                {
                    item.Completion.TrySetException(failure);
                }
            }
        }
    }

    /// <summary>Runs one request on thread <paramref name="index"/>; the failure, if it could not be run.</summary>
    private Exception? Invoke(int index, IWsgiThread handler, WsgiRequest request, IResponseSink sink)
    {
        Volatile.Write(ref _sinks[index], sink);
        Volatile.Write(ref _current[index], request);
        Volatile.Write(ref _busySince[index], Math.Max(1, Environment.TickCount64));
        Interlocked.Increment(ref _busy);
        try
        {
            handler.Invoke(request, sink);
            return null;
        }
        catch (Exception e)
        {
            // The bridge turns app errors into responses; reaching here is a server bug or a
            // broken connection. The connection decides what to do with it.
            return e;
        }
        finally
        {
            Interlocked.Decrement(ref _busy);
            Volatile.Write(ref _busySince[index], 0);
            Volatile.Write(ref _current[index], null);
            Volatile.Write(ref _sinks[index], null);
        }
    }

    /// <summary>
    /// The next request, waiting for one (in the acceptor, when there is one); null once adding is complete
    /// and the queue is empty.
    /// </summary>
    private AppWorkItem? Take(IWsgiThread handler)
    {
        while (true)
        {
            IIdleAcceptor acceptor;
            bool busy;
            lock (_queue)
            {
                busy = _queue.Count > 0;
                if (busy && (_acceptor is null || Stopwatch.GetTimestamp() - _lastAccepting < LookAfter))
                {
                    return _queue.Dequeue();
                }

                if (!busy && _addingCompleted)
                {
                    return null;
                }

                if (_acceptor is null)
                {
                    _idle++;
                    Monitor.Wait(_queue);
                    _idle--;
                    continue;
                }

                acceptor = _acceptor;
                _accepting = !busy;
            }

            if (busy)
            {
                // Open connections have kept the thread busy for a while, and new ones may be waiting in the listen
                // queue, where (with --reuse-port, or every peer as busy) nobody else takes them: accept them now,
                // and their requests take their turn behind the queued ones.
                var accepting = acceptor.AcceptWaiting();
                _lastAccepting = Stopwatch.GetTimestamp();
                if (!accepting)
                {
                    lock (_queue)
                    {
                        _acceptor = null;
                    }
                }

                continue;
            }

            var more = false;
            _ranInline = false;
            _acceptingHandler = handler;
            t_accepting = this;
            try
            {
                more = acceptor.WaitOrServe();
            }
            catch (Exception e)
            {
                // The acceptor handles its connections' failures; this is a server bug. Accept no more here
                // rather than lose the thread: the queue still serves the connections already open.
                _log.Error($"Accepting on the app thread failed: {e}");
            }
            finally
            {
                t_accepting = null;
                // The listen queue was last looked at when the accepted connection began to run here.
                _lastAccepting = _ranInline ? _inlineSince : Stopwatch.GetTimestamp();
                lock (_queue)
                {
                    _accepting = false;
                    if (!more)
                    {
                        _acceptor = null;
                    }
                }
            }
        }
    }

    private void FailQueued(Exception e)
    {
        while (true)
        {
            AppWorkItem? item;
            lock (_queue)
            {
                if (!_queue.TryDequeue(out item))
                {
                    return;
                }
            }

            item.Completion.TrySetException(e);
        }
    }

    private sealed class AppWorkItem(WsgiRequest request, IResponseSink sink)
    {
        public WsgiRequest Request { get; } = request;
        public IResponseSink Sink { get; } = sink;

        // Completed by the app thread after the request, outside Python: the awaiting connection continues
        // inline there (see Run).
        public TaskCompletionSource Completion { get; } = new();
    }
}
