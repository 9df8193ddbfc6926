using System.Collections.Concurrent;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>
/// The greenlet host: one Python thread runs the library's hub, and every request becomes a greenlet there.
/// Requests are handed over through a queue and an eventfd the hub's loop watches: no GIL is taken on the C#
/// side and nobody polls. Writes and streamed body reads go through each request's
/// <see cref="GreenletExchange"/>, which does the blocking part on the thread pool and wakes the waiting
/// greenlet through the same eventfd.
/// </summary>
internal sealed class GreenletHost : IAppHost, IGreenletHub
{
    private readonly IGreenletApplication _app;
    private readonly IErrorLog _log;
    private readonly ConcurrentQueue<GreenletExchange> _incoming = new();
    private readonly ConcurrentQueue<long> _ready = new();
    private readonly ConcurrentDictionary<long, (WsgiRequest Request, long StartedAt)> _running = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HubThread? _hubThread;
    private readonly Thread? _thread;
    private readonly GreenletExchange.Hub _exchangeHub;
    private int _wakeFd = -1;
    private int _wakePending;
    private long _nextId;
    private long _lastTurn;
    private nuint _hubThreadId;
    private int _busy;
    private volatile bool _stopping;
    private volatile bool _stoppingNow;
    private volatile bool _dead;

    /// <param name="hub">The thread the app was loaded on, which runs the hub (greenlets the app started at import
    /// belong to its hub); null starts a thread of the host's own.</param>
    public GreenletHost(IGreenletApplication app, string library, int capacity, IErrorLog log, HubThread? hub = null)
    {
        _app = app;
        _log = log;
        Library = library;
        Capacity = capacity;
        _hubThread = hub;
        _thread = hub is null ? new Thread(RunHub) { IsBackground = true, Name = "unicorn-hub" } : null;
        _exchangeHub = new GreenletExchange.Hub(Ready, Finished, log);
    }

    public string Library { get; }

    /// <summary>worker_connections: the connections (and so requests) one worker holds at once.</summary>
    public int Capacity { get; }

    public int Busy => Volatile.Read(ref _busy);

    public int Queued => _incoming.Count;

    public int WakeFd => _wakeFd;

    public bool IsStopping => _stopping;

    public bool IsStoppingNow => _stoppingNow;

    public void StopNow()
    {
        _stoppingNow = true;
        Wake();
    }

    public void Start()
    {
        _wakeFd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wakeFd < 0)
        {
            throw new IOException($"eventfd: {Libc.StrError(Libc.Errno)}");
        }

        Volatile.Write(ref _lastTurn, Environment.TickCount64);
        if (_hubThread is not null)
        {
            _hubThread.Become(RunHub);
        }
        else
        {
            _thread!.Start();
        }
    }

    public Task RunAsync(WsgiRequest request, IResponseSink sink)
    {
        ObjectDisposedException.ThrowIf(_stopping || _dead, this);
        var exchange = new GreenletExchange(Interlocked.Increment(ref _nextId), request, sink, _exchangeHub);
        Interlocked.Increment(ref _busy);
        _running[exchange.Id] = (request, Environment.TickCount64);
        _incoming.Enqueue(exchange);
        Wake();
        return exchange.Completion;
    }

    public Task<bool> StopAsync(TimeSpan timeout)
    {
        _stopping = true;
        Wake();
        return WaitStoppedAsync(timeout);
    }

    /// <summary>The hub's loop turned within <paramref name="stuck"/>: a greenlet that never yields stops it, and so the heartbeat.</summary>
    public bool IsResponsive(TimeSpan stuck) =>
        !_dead && Environment.TickCount64 - Volatile.Read(ref _lastTurn) <= (long)stuck.TotalMilliseconds;

    /// <summary>
    /// max_request_time: the requests whose greenlet has run longer than <paramref name="limit"/>. Each names its
    /// greenlet (the greenlet dump labels it with the request's id) and the hub's thread, whose stack is the
    /// greenlet's while that greenlet is the one running.
    /// </summary>
    public IReadOnlyList<RunningRequest> RunningLongerThan(TimeSpan limit)
    {
        var now = Environment.TickCount64;
        var found = new List<RunningRequest>();
        foreach (var (id, (request, since)) in _running)
        {
            if (now - since > limit.TotalMilliseconds)
            {
                found.Add(new RunningRequest(request.Method, request.RawUri, TimeSpan.FromMilliseconds(now - since), _hubThreadId, since) { Id = id, ServedBy = RunningRequest.Greenlet });
            }
        }

        return found;
    }

    public void ClearWake() => Interlocked.Exchange(ref _wakePending, 0);

    public bool TryTake(out IGreenletRequest request)
    {
        if (_incoming.TryDequeue(out var exchange))
        {
            request = exchange;
            return true;
        }

        request = null!;
        return false;
    }

    public bool TryTakeReady(out long id) => _ready.TryDequeue(out id);

    public void Turned() => Volatile.Write(ref _lastTurn, Environment.TickCount64);

    /// <summary>The greenlet of request <paramref name="id"/> may stop waiting (its write drained, its read finished).</summary>
    private void Ready(long id)
    {
        _ready.Enqueue(id);
        Wake();
    }

    private void Finished(long id)
    {
        _running.TryRemove(id, out _);
        Interlocked.Decrement(ref _busy);
    }

    private unsafe void Wake()
    {
        // One write per batch: the hub clears the flag before it drains the queues.
        if (Interlocked.Exchange(ref _wakePending, 1) != 0 || _wakeFd < 0)
        {
            return;
        }

        ulong one = 1;
        Libc.write(_wakeFd, (byte*)&one, sizeof(ulong));
    }

    private async Task<bool> WaitStoppedAsync(TimeSpan timeout)
    {
        var finished = await Task.WhenAny(_stopped.Task, Task.Delay(timeout)).ConfigureAwait(false);
        return finished == _stopped.Task;
    }

    private void RunHub()
    {
        _hubThreadId = Libc.pthread_self();
        try
        {
            _app.RunHub(this);
        }
        catch (Exception e)
        {
            _log.Critical($"The {Library} hub stopped: {e.Message}");
        }
        finally
        {
            _dead = true;
            while (_incoming.TryDequeue(out var left))
            {
                left.Abort();
            }

            _stopped.TrySetResult();
        }
    }
}
