using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge;

/// <summary>
/// A WSGI app in the embedded interpreter, served through the app seam. Holds what every request
/// shares: the app object, environ's constant part and the bridge's Python types. Each app thread calls
/// <see cref="AttachThread"/> once and keeps its Python thread state for life.
/// </summary>
public sealed class PythonWsgiApplication : IWsgiApplication
{
    /// <summary>Wraps an app object (from <see cref="AppLoader.Load"/>); takes the GIL itself.</summary>
    public PythonWsgiApplication(PythonRuntime runtime, PyObject app, WsgiAppOptions options, IErrorLog log)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(options);
        Runtime = runtime;
        Log = log ?? throw new ArgumentNullException(nameof(log));
        SendsHoldingGil = options.OneAppThread ?? !options.Multithread;
        TakesMainThread = !options.Multithread;
        runtime.RunWithGil(() =>
        {
            App = CPython.NewRef(Handles.Of(app));
            Keys = new EnvironKeys();
            StartResponseType = Take("StartResponse");
            StreamInputType = Take("StreamInput");
            BufferedInput = TakeFrom("io", "BytesIO");
            EmptyInput = Take("EMPTY_INPUT");
            FileWrapperType = Take("FileWrapper");
            FileSpan = Take("file_span");
            FormatException = Take("format_exception");
            SendTrailers = Take("send_trailers");
            BaseEnviron = BuildBaseEnviron(options);
            if (!options.Multithread)
            {
                // On the boot thread, after the import: the app thread claims gevent's main hub as it attaches.
                using var release = BridgeModule.Get("release_gevent_main_thread");
                using var _ = release.Invoke();
            }
        });
    }

    /// <summary>Loads APP_MODULE and wraps it.</summary>
    /// <exception cref="AppImportException">the app could not be imported.</exception>
    public static PythonWsgiApplication Load(PythonRuntime runtime, string appUri, WsgiAppOptions options, IErrorLog log)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var app = AppLoader.Load(runtime, appUri, options.ServeSyntaxErrors);
        return new PythonWsgiApplication(runtime, app, options, log);
    }

    /// <summary>
    /// worker_spares: the bridge's own WSGI app (<c>warm_up_app</c>: 200, "ok"), which a parked spare's synthetic
    /// requests reach instead of the user's app.
    /// </summary>
    public static PythonWsgiApplication WarmUp(PythonRuntime runtime, WsgiAppOptions options, IErrorLog log)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        using var app = runtime.RunWithGil(() => BridgeModule.Get("warm_up_app"));
        return new PythonWsgiApplication(runtime, app, options, log) { TakesMainThread = false };
    }

    /// <summary>
    /// A small one-item body is sent with the GIL held (one GIL hand-over per request instead of two): only where no
    /// other Python thread of the app waits for the GIL meanwhile. With gthread's threads it cost keep-alive
    /// throughput (hello 0.97x, bench/results/findings.md).
    /// </summary>
    internal bool SendsHoldingGil { get; }

    /// <summary>
    /// The sync worker's app thread takes what the main thread has: an asyncio loop made when asked, gevent's main hub
    /// (<c>adopt_main_thread</c>). Not a parked spare's warm-up thread, which attaches after the thread that serves.
    /// </summary>
    internal bool TakesMainThread { get; private init; }

    internal PythonRuntime Runtime { get; }
    internal IErrorLog Log { get; }
    internal nint App { get; private set; }
    internal EnvironKeys Keys { get; private set; } = null!;
    internal nint BaseEnviron { get; private set; }
    internal nint StartResponseType { get; private set; }
    internal nint StreamInputType { get; private set; }
    internal nint BufferedInput { get; private set; }
    internal nint EmptyInput { get; private set; }
    internal nint FileWrapperType { get; private set; }
    internal nint FileSpan { get; private set; }
    internal nint FormatException { get; private set; }
    internal nint SendTrailers { get; private set; }

    /// <summary>SCRIPT_NAME from the process environment (Gunicorn's default), used when the request has none.</summary>
    internal string DefaultScriptName { get; private set; } = "";

    public IWsgiThread AttachThread() => new PythonWsgiThread(this);

    private static nint Take(string name)
    {
        using var o = BridgeModule.Get(name);
        return CPython.NewRef(Handles.Of(o));
    }

    private static nint TakeFrom(string module, string name)
    {
        using var m = Py.Import(module);
        using var o = m.GetAttr(name);
        return CPython.NewRef(Handles.Of(o));
    }

    private nint BuildBaseEnviron(WsgiAppOptions options)
    {
        using var sys = Py.Import("sys");
        using var os = Py.Import("os");
        using var environ = os.GetAttr("environ");
        using var scriptName = environ.InvokeMethod("get", new PyString("SCRIPT_NAME"), new PyString(""));
        DefaultScriptName = scriptName.ToString() ?? "";

        using var d = new PyDict();
        d["wsgi.version"] = new PyTuple([new PyInt(1), new PyInt(0)]);
        d["wsgi.errors"] = sys.GetAttr("stderr");
        d["wsgi.multithread"] = options.Multithread.ToPython();
        d["wsgi.multiprocess"] = options.Multiprocess.ToPython();
        d["wsgi.run_once"] = false.ToPython();
        d["wsgi.input_terminated"] = true.ToPython();
        d["wsgi.file_wrapper"] = BridgeModule.Get("FileWrapper");
        d["wsgi.early_hints"] = BridgeModule.Get("early_hints");
        d["SERVER_SOFTWARE"] = new PyString(options.ServerSoftware);
        d["SCRIPT_NAME"] = new PyString(DefaultScriptName);
        return CPython.NewRef(Handles.Of(d));
    }
}
