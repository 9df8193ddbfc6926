using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge;

/// <summary>
/// One app thread's handle on the app. It owns this thread's Python thread state for its whole life
/// (threading.local survives across requests) and holds the GIL only while Python runs: never while
/// the sink or the request body blocks.
/// </summary>
internal sealed unsafe partial class PythonWsgiThread : IWsgiThread
{
    [ThreadStatic]
    private static PythonWsgiThread? t_current;

    private readonly PythonWsgiApplication _app;
    private readonly EnvironKeys _keys;
    private readonly int _gilState;
    private readonly int _threadId;
    private nint _threadState;
    private bool _disposed;

    // The request being served (valid during Invoke).
    private long _token;
    private IResponseSink? _sink;
    private RequestBody? _body;
    private nint _startResponse;
    private bool _statusSeen;
    private long _contentLength;
    private bool _clientGone;
    private string? _invalidResponse;
    private Exception? _bodyFailure;
    private BadHttpRequestException? _rejection;

    // The last request's environ, kept (a new reference) only when a post_request hook will read it.
    private nint _keptEnviron;

    public PythonWsgiThread(PythonWsgiApplication app)
    {
        _index = Register(this);
        _token = (long)_index << TokenIndexShift;
        _app = app;
        _keys = app.Keys;
        _threadId = Environment.CurrentManagedThreadId;
        _gilState = CPython.PyGILState_Ensure();
        if (app.TakesMainThread)
        {
            // The sync worker: Gunicorn calls the app on the main thread, where asyncio makes a loop when asked and
            // gevent's hub has the default loop.
            try
            {
                using var adopt = BridgeModule.Get("adopt_main_thread");
                using var _ = adopt.Invoke();
            }
            catch (PythonException e)
            {
                app.Log.Warning($"The app thread is not made the main thread (asyncio.get_event_loop(), gevent's hub): {e.Message}");
            }
        }

        _threadState = CPython.PyEval_SaveThread();
    }

    /// <summary>The instance serving a request on this thread, for the native callbacks.</summary>
    public static PythonWsgiThread? Current => t_current;

    public bool HeadersSent => _sink?.HeadersSent ?? false;

    /// <summary>
    /// Keep each request's environ for <see cref="TakeEnviron"/> (post_request receives the dict the app saw).
    /// Off unless a post_request hook is defined, so other requests pay nothing.
    /// </summary>
    internal bool KeepEnviron { get; set; }

    /// <summary>
    /// The environ of the request just served (a new reference the caller must release holding the GIL),
    /// or 0 when it was not kept or could not be built.
    /// </summary>
    internal nint TakeEnviron()
    {
        var environ = _keptEnviron;
        _keptEnviron = 0;
        return environ;
    }

    private IErrorLog Log => _app.Log;

    public void Invoke(WsgiRequest request, IResponseSink response)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(response);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Environment.CurrentManagedThreadId != _threadId)
        {
            throw new InvalidOperationException("a PythonWsgiThread must be used on the thread that attached it");
        }

        CPython.PyEval_RestoreThread(_threadState);
        t_current = this;
        _token++;
        _sink = response;
        _body = request.Body;
        BadHttpRequestException? rejection = null;
        try
        {
            Serve(request, response);
            rejection = _rejection;
        }
        catch (Exception e)
        {
            // A bug of ours, not the app's: the worker keeps serving. An OutOfMemoryException (the 500 page's buffer
            // could not grow under worker_heap_limit) is none: one line, as Serve logs a sink's failure, no stack trace.
            var failure = e is OutOfMemoryException ? $"{e.GetType().Name}: {e.Message}" : e.ToString();
            Log.Error($"Error handling request {request.Method} {request.RawUri}: {failure}");
            if (CPython.PyErr_Occurred() != 0)
            {
                CPython.PyErr_Clear();
            }

            AbortQuietly(response);
        }
        finally
        {
            EndHolding();
            CPython.XDecRef(_startResponse);
            _startResponse = 0;
            _sink = null;
            _body = null;
            _statusSeen = false;
            _contentLength = -1;
            _clientGone = false;
            _invalidResponse = null;
            _bodyFailure = null;
            _rejection = null;
            t_current = null;
            _threadState = CPython.PyEval_SaveThread();
        }

        if (rejection is not null)
        {
            // Bad chunked framing met by the app's read: the connection answers it as any bad request.
            throw rejection;
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Unregister(_index);
        _holdArmed.Set(); // the hold sender, if any, sees _disposed and ends
        if (_app.Runtime.IsShutDown)
        {
            return; // the GIL belongs to the exiting thread now
        }

        CPython.PyEval_RestoreThread(_threadState);
        CPython.XDecRef(TakeEnviron());
        ReleaseCaches();
        CPython.PyGILState_Release(_gilState);
    }

    private void ReleaseGil() => _threadState = CPython.PyEval_SaveThread();

    private void AcquireGil() => CPython.PyEval_RestoreThread(_threadState);

    private static void AbortQuietly(IResponseSink sink)
    {
        try
        {
            sink.Abort();
        }
        catch (Exception)
        {
            // The connection is being torn down anyway.
        }
    }
}
