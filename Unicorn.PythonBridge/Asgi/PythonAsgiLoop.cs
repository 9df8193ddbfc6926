using System.Collections.Concurrent;
using System.Net.Sockets;
using Python.Runtime;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.Asgi;

/// <summary>
/// One worker's event loop: a dedicated thread running <c>_unicorn_asgi.Server.run</c>. Other threads post
/// work to a queue and wake the loop with one byte on a socket pair it watches (coalesced: one byte until the
/// loop drains), taking no GIL and never polling; the loop runs the work in <see cref="DrainHeld"/>, which Python
/// calls holding the GIL (through <see cref="AsgiNativeCallbacks"/>). Public because Python calls the rest through pythonnet.
/// </summary>
public sealed partial class PythonAsgiLoop : IAsgiLoop
{
    private static readonly byte[] s_wakeByte = [1];

    private static readonly TimeSpan StackGilWait = TimeSpan.FromSeconds(2);

    private static readonly Action<PythonAsgiLoop> s_endBatch = static loop => loop.EndBatch();

    private readonly ConcurrentQueue<Action> _work = new();
    private readonly ConcurrentQueue<PythonAsgiExchange> _ending = new();
    private readonly ConcurrentDictionary<long, PythonAsgiExchange> _live = new();
    private readonly ManualResetEventSlim _started = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PythonWsgiApplication _app;
    private readonly AsgiOptions _options;
    private Socket? _wake;
    private PyObject? _server;
    private nint _received; // _server.ws_received, a new reference: the websocket receive completion, called via the C API
    private nint _request; // _server.request, a new reference: a new exchange, called via the C API
    private nint _written; // _server.written, a new reference: a started write's or send's completion, called via the C API
    private long _nativeKey;
    private string? _startFailure;
    private int _signalled;
    private long _signalledAt;
    private long _nextId;
    private int _stopRequested;
    private int _endScheduled;

    private PythonAsgiLoop(PythonWsgiApplication app, AsgiOptions options, AsgiRequestHooks? hooks)
    {
        _app = app;
        _options = options;
        Hooks = hooks;
    }

    /// <summary>The config file's pre_request, post_request and spew; null when it has none.</summary>
    internal AsgiRequestHooks? Hooks { get; }

    internal IErrorLog ErrorLog => _app.Log;

    internal AsgiOptions Options => _options;

    /// <summary>Starts the loop thread and waits until lifespan startup is done.</summary>
    /// <exception cref="AsgiStartupException">the loop could not start or startup failed under asgi_lifespan = on.</exception>
    internal static PythonAsgiLoop Start(PythonWsgiApplication app, AsgiOptions options, AsgiRequestHooks? hooks)
    {
        var loop = new PythonAsgiLoop(app, options, hooks);
        var thread = new Thread(loop.Run) { IsBackground = true, Name = "unicorn-asgi-loop" };
        thread.Start();
        loop._started.Wait();
        if (loop._startFailure is { } failure)
        {
            throw new AsgiStartupException(failure);
        }

        return loop;
    }

    public Task RunAsync(WsgiRequest request, IResponseSink sink)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sink);
        if (_exited.Task.IsCompleted)
        {
            return Task.FromException(new InvalidOperationException("the ASGI event loop has stopped"));
        }

        var exchange = new PythonAsgiExchange(this, Interlocked.Increment(ref _nextId), request, sink);
        _live[exchange.Id] = exchange;
        Post(() => Dispatch(exchange));
        return exchange.Completion;
    }

    public IReadOnlyList<AsgiRunningTask> RunningLongerThan(TimeSpan limit)
    {
        var now = Environment.TickCount64;
        var found = new List<AsgiRunningTask>();
        foreach (var exchange in _live.Values)
        {
            // An accepted websocket lives as long as its client wants: it is not a slow request.
            if (exchange.WebSocket is null && now - exchange.StartedAt > limit.TotalMilliseconds)
            {
                var id = exchange.Id;
                found.Add(new AsgiRunningTask(id, exchange.Method, exchange.RawUri, exchange.StartedAt, () => TaskStack(id)));
            }
        }

        return found;
    }

    /// <summary>
    /// The Python stack of request <paramref name="id"/>'s task, read on a thread of its own that waits at most two
    /// seconds for the GIL (an app holding it in C code must not stall the heartbeat).
    /// </summary>
    private string TaskStack(long id)
    {
        var text = "(the task has finished)";
        var reader = new Thread(() =>
        {
            try
            {
                using (Py.GIL())
                {
                    using var pyId = new PyInt(id);
                    using var stack = _server!.InvokeMethod("stack", pyId);
                    text = stack.IsNone() ? text : stack.As<string>();
                }
            }
            catch (PythonException e)
            {
                text = "(the task's stack is unavailable: " + e.Message + ")";
            }
        })
        { IsBackground = true, Name = "unicorn-asgi-stack" };
        reader.Start();
        return reader.Join(StackGilWait) ? text : "(the task's stack is unavailable: the GIL was not released in time)";
    }

    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) == 0 && !_exited.Task.IsCompleted)
        {
            Post(() =>
            {
                using (_server!.InvokeMethod("stop"))
                {
                }
            });
        }

        try
        {
            await _exited.Task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public void StopNow()
    {
        if (!_exited.Task.IsCompleted)
        {
            Post(() =>
            {
                using (_server!.InvokeMethod("stop_now"))
                {
                }
            });
        }
    }

    public bool IsResponsive(TimeSpan stuck)
    {
        if (_exited.Task.IsCompleted)
        {
            return Volatile.Read(ref _stopRequested) == 1;
        }

        if (Volatile.Read(ref _signalled) == 0)
        {
            // Nothing waits for the loop: post an empty item, so the next heartbeat learns whether the loop still
            // turns (an app blocking it in time.sleep, say). One wake-up per beat, and none while work flows.
            Post(static () => { });
            return true;
        }

        return Environment.TickCount64 - Volatile.Read(ref _signalledAt) <= (long)stuck.TotalMilliseconds;
    }

    // --- called by Python on the loop thread (GIL held) -------------------------------------------

    /// <summary>The write end of the loop's wake-up socket pair; this object owns it from now on.</summary>
    public void SetWakeFd(long fd) => _wake = new Socket(new SafeSocketHandle((nint)fd, ownsHandle: true));

    /// <summary>Lifespan startup is over: null when the loop serves, else why it does not.</summary>
    public void Started(string? failure)
    {
        _startFailure = failure;
        _started.Set();
    }

    /// <summary>Runs the posted work; the loop calls it when woken, holding the GIL (a C function, not pythonnet).</summary>
    internal void DrainHeld()
    {
        for (var round = 0; ; round++)
        {
            while (_work.TryDequeue(out var work))
            {
                try
                {
                    work();
                }
                catch (PythonException e)
                {
                    ErrorLog.Error($"ASGI loop: {e.Format()}");
                }
            }

            // Work posted while this ran (completions from other threads) joins this turn without a wake-up byte.
            // Clearing the flag and then finding the queue empty is the end; whoever posts after that wakes the loop.
            // A few rounds at most: the tasks these resolved run only once the loop gets back control.
            Volatile.Write(ref _signalled, 0);
            if (_work.IsEmpty || Interlocked.Exchange(ref _signalled, 1) == 1)
            {
                return;
            }

            Volatile.Write(ref _signalledAt, Environment.TickCount64);
            if (round == 3)
            {
                Wake();
                return;
            }
        }
    }

    /// <summary>
    /// Ends a finished exchange off the loop: queued, and the first one queued while no batch is pending starts one
    /// thread-pool item that ends them all (as <see cref="Post"/> coalesces wake-ups the other way).
    /// </summary>
    internal void EndSoon(PythonAsgiExchange exchange)
    {
        _ending.Enqueue(exchange);
        if (Interlocked.Exchange(ref _endScheduled, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(s_endBatch, this, preferLocal: false);
        }
    }

    private void EndBatch()
    {
        while (true)
        {
            while (_ending.TryDequeue(out var exchange))
            {
                try
                {
                    exchange.EndFinished();
                }
                catch (Exception e)
                {
                    // One exchange failing to end must not strand the rest of the batch, nor the flag, which would
                    // leave every later exchange unended; nor take the process down from a pool thread.
                    ErrorLog.Error($"ASGI: could not end request {exchange.Id}: {e.Message}");
                }
            }

            // Clearing the flag and then finding the queue empty is the end; whoever queues after that starts a batch.
            Volatile.Write(ref _endScheduled, 0);
            if (_ending.IsEmpty || Interlocked.Exchange(ref _endScheduled, 1) == 1)
            {
                return;
            }
        }
    }

    /// <summary>A line in the error log at a Python logging level (10 debug ... 50 critical).</summary>
    public void Log(int level, string message) => ErrorLog.Log((LogLevel)level, message);

    /// <summary>An error with its traceback, called in the except block, with the exception live: a logger_class with an
    /// exception() of its own gets exception(message) then, as under Gunicorn.</summary>
    public void LogException(string message, string traceback) => ErrorLog.Exception(message, traceback, message);

    // --- called by exchanges from any thread ----------------------------------------------------

    internal void Post(Action work)
    {
        _work.Enqueue(work);
        if (Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            Volatile.Write(ref _signalledAt, Environment.TickCount64);
            Wake();
        }
    }

    private void Wake()
    {
        try
        {
            _wake?.Send(s_wakeByte);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The loop has exited; nothing is left to wake.
        }
    }

    /// <summary>Completes a Python future on the loop with <paramref name="result"/> (built there, GIL held).</summary>
    internal void Resolve(PyObject future, Func<PyObject?> result) => Post(() =>
    {
        using (future)
        {
            using var value = result() ?? PyObject.None;
            using (_server!.InvokeMethod("resolve", future, value))
            {
            }
        }
    });

    /// <summary>
    /// Hands a new exchange to <c>Server.request(id, websocket)</c> through the C API. Python gets the id, not a
    /// pythonnet wrapper of the exchange: it fetches one (<see cref="Lookup"/>) only on the paths that call the
    /// exchange's methods, and a plain request never does.
    /// </summary>
    private unsafe void Dispatch(PythonAsgiExchange exchange)
    {
        var id = CPython.PyLong_FromLongLong(exchange.Id);
        if (id == 0)
        {
            CPython.PyErr_Clear();
            throw new OutOfMemoryException("could not build a request id");
        }

        var args = stackalloc nint[2] { id, exchange.IsWebSocket ? CPython.Py_True : CPython.Py_False };
        var result = CPython.PyObject_Vectorcall(_request, args, 2, 0);
        CPython.Py_DecRef(id);
        if (result == 0)
        {
            // request() only creates the task; failing means the loop is going down. The exchange ends with a 500.
            CPython.PyErr_Clear();
            ErrorLog.Error("ASGI loop: could not start a request");
            exchange.Finish();
            return;
        }

        CPython.Py_DecRef(result);
    }

    /// <summary>Fails a Python future with OSError (disconnect) or RuntimeError (<paramref name="disconnect"/> false).</summary>
    internal void Fail(PyObject future, string message, bool disconnect) => Post(() =>
    {
        using (future)
        {
            using var text = new PyString(message);
            using (_server!.InvokeMethod(disconnect ? "fail" : "error", future, text))
            {
            }
        }
    });

    /// <summary>The accepted websocket of exchange <paramref name="id"/>, or null once it has ended.</summary>
    internal PythonAsgiWebSocket? WebSocket(long id) => _live.TryGetValue(id, out var exchange) ? exchange.WebSocket : null;

    /// <summary>The live exchange <paramref name="id"/>, or null once it has ended.</summary>
    internal PythonAsgiExchange? Exchange(long id) => _live.TryGetValue(id, out var exchange) ? exchange : null;

    /// <summary>Exchange <paramref name="id"/> for Python's <c>_Request.ex</c>, fetched on the paths that call its methods.</summary>
    public PythonAsgiExchange? Lookup(long id) => Exchange(id);

    /// <summary>The exchange has ended: it no longer counts as running.</summary>
    internal void Ended(long id) => _live.TryRemove(id, out _);

    internal void Disconnected(long id) => Post(() =>
    {
        using var pyId = new PyInt(id);
        using (_server!.InvokeMethod("disconnected", pyId))
        {
        }
    });

    private void Run()
    {
        try
        {
            using (Py.GIL())
            {
                if (Hooks?.Spew == true)
                {
                    // As Gunicorn, whose ASGI worker runs its loop on the thread spew traces.
                    Spew.InstallOnCurrentThread();
                }

                var module = AsgiModule.Get();
                using var serverType = module.GetAttr("Server");
                using var app = Handles.Wrap(_app.App);
                using var self = this.ToPython();
                _server = serverType.Invoke(
                    app, self, new PyString(_options.Loop), new PyString(_options.Lifespan), new PyString(_options.RootPath),
                    new PyFloat(_options.DisconnectGracePeriod.TotalSeconds),
                    (Hooks?.HasPreRequest ?? false).ToPython(), (Hooks?.HasPostRequest ?? false).ToPython(),
                    _options.ReportedStartupFailureStops.ToPython());
                using (var received = _server.GetAttr("ws_received"))
                {
                    _received = CPython.NewRef(Handles.Of(received));
                }

                using (var request = _server.GetAttr("request"))
                {
                    _request = CPython.NewRef(Handles.Of(request));
                }

                using (var written = _server.GetAttr("written"))
                {
                    _written = CPython.NewRef(Handles.Of(written));
                }

                AsgiHttpScope.Initialize();
                using (var fast = AsgiNativeCallbacks.CreateNamespace(this, out _nativeKey))
                {
                    _server.SetAttr("fast", fast);
                }

                using (_server.InvokeMethod("run"))
                {
                }
            }
        }
        catch (PythonException e)
        {
            _startFailure ??= "ASGI event loop failed: " + e.Message;
            if (_started.IsSet)
            {
                ErrorLog.Error($"ASGI event loop failed: {e.Format()}");
            }
        }
        finally
        {
            AsgiNativeCallbacks.Forget(_nativeKey);
            _started.Set();
            _wake?.Dispose();
            _exited.TrySetResult();
        }
    }
}
