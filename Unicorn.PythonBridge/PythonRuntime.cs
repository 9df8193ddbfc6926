using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.PythonBridge;

/// <summary>
/// The one embedded CPython of this process: initialised once, never re-initialised, never finalised
/// (DESIGN.md, "Pitfalls measured here"). After <see cref="Initialize"/> no thread holds the GIL;
/// app threads attach through <see cref="PythonWsgiApplication"/>, other code uses <see cref="RunWithGil(Action)"/>.
/// </summary>
public sealed unsafe partial class PythonRuntime
{
    /// <summary>The signals the server owns; app code calling signal.signal() for them is ignored with a warning.</summary>
    public static readonly IReadOnlyList<int> OwnedSignals = [1, 15, 2, 3, 10, 12, 21, 22, 28, 17, 6]; // HUP TERM INT QUIT USR1 USR2 TTIN TTOU WINCH CHLD ABRT

    private static readonly Lock s_lock = new();
    private static PythonRuntime? s_current;

    private readonly IErrorLog _log;
    private bool _shutDown;

    private PythonRuntime(PythonInstallation installation, IErrorLog log)
    {
        Installation = installation;
        _log = log;
    }

    /// <summary>The runtime of this process, once initialised.</summary>
    public static PythonRuntime Current => s_current ?? throw new InvalidOperationException("Python is not initialised in this process");

    public static bool IsInitialized => s_current is not null;

    public PythonInstallation Installation { get; }

    internal IErrorLog Log => _log;

    internal bool IsShutDown => _shutDown;

    /// <summary>
    /// Starts CPython from <paramref name="installation"/> without Python's signal handlers, then
    /// applies <paramref name="options"/> (env, chdir, pythonpath), guards the server's signals and makes
    /// multiprocessing start children with forkserver. Returns with the GIL released. A second call
    /// returns the running runtime (one interpreter per process).
    /// </summary>
    /// <exception cref="PythonNotFoundException">libpython cannot be loaded or started; the message is the line to print.</exception>
    /// <exception cref="ArgumentException">an <c>-e</c> value is not KEY=VALUE, or <c>--chdir</c> does not exist.</exception>
    public static PythonRuntime Initialize(PythonInstallation installation, IErrorLog log, PythonRuntimeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(installation);
        ArgumentNullException.ThrowIfNull(log);
        options ??= new PythonRuntimeOptions();
        lock (s_lock)
        {
            if (s_current is not null)
            {
                return s_current;
            }

            var env = ParseEnv(options.Env);
            if (options.Chdir is not null && !Directory.Exists(options.Chdir))
            {
                throw new ArgumentException($"can't chdir to '{options.Chdir}'", nameof(options));
            }

            if (options.Unset.Count > 0)
            {
                // .NET reads the process's environment until its first full read, a copy from then on: taken now,
                // before Python unsets these, so that the worker's own later reads still find them.
                _ = Environment.GetEnvironmentVariables();
            }

            foreach (var (key, value) in env)
            {
                Environment.SetEnvironmentVariable(key, value);
            }

            // In a worker forked by the zygote, CPython is the program itself and already runs: loading
            // libpython again would start a second, separate interpreter, so both bindings use the program's.
            var hosted = HostInterpreter.IsRunning;
            Runtime.PythonDLL = hosted ? null : installation.LibPython;
            if (installation.Executable is not null && !hosted)
            {
                PythonEngine.ProgramName = installation.Executable;
            }

            try
            {
                PythonEngine.Initialize(setSysArgv: false, initSigs: false);
                CPython.Load(hosted ? null : installation.LibPython);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException
                or TypeInitializationException or InvalidOperationException or NotSupportedException or PythonException)
            {
                throw new PythonNotFoundException($"unicorn: cannot start Python {installation.Version} from {installation.LibPython}: {FirstLine(e)}");
            }

            var runtime = new PythonRuntime(installation, log);
            s_current = runtime;
            NativeCallbacks.Log = log;
            using (var native = NativeCallbacks.CreateNamespace())
            {
                BridgeModule.Load(native);
            }

            DirtyModule.Install();

            try
            {
                runtime.Prepare(options, env);
            }
            catch (PythonException e)
            {
                PythonEngine.BeginAllowThreads();
                throw new PythonNotFoundException($"unicorn: cannot prepare Python: {FirstLine(e)}");
            }

            DetachPythonnetExitHandler();
            PythonEngine.BeginAllowThreads();
            return runtime;
        }
    }

    /// <summary>
    /// Applies <paramref name="options"/>' env, chdir and pythonpath to a running interpreter: the master
    /// starts Python to read the config file before <c>--chdir</c>/<c>--pythonpath</c> are known, and
    /// must apply them before it imports the app (<c>--check-config</c>, <c>--preload</c>), as Gunicorn does.
    /// </summary>
    /// <exception cref="ArgumentException">an <c>-e</c> value is not KEY=VALUE, or <c>--chdir</c> does not exist.</exception>
    public void ApplyPaths(PythonRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfShutDown();
        var env = ParseEnv(options.Env);
        if (options.Chdir is not null && !Directory.Exists(options.Chdir))
        {
            throw new ArgumentException($"can't chdir to '{options.Chdir}'", nameof(options));
        }

        using (Py.GIL())
        {
            PreparePaths(options, env);
        }
    }

    /// <summary>Sets (or, for a null value, unsets) each name in os.environ, and so in the process's C environment.</summary>
    public void SetEnvironment(IEnumerable<KeyValuePair<string, string?>> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ThrowIfShutDown();
        using (Py.GIL())
        {
            using var list = new PyList(changes.Select(c => (PyObject)new PyTuple(
                [new PyString(c.Key), c.Value is null ? PyObject.None : new PyString(c.Value)])).ToArray());
            using var set = BridgeModule.Get("set_environ");
            using (set.Invoke(list))
            {
            }
        }
    }

    [ThreadStatic]
    private static bool t_threadStateKept;

    /// <summary>
    /// Keeps the calling thread's Python thread state for the thread's life. Each GIL acquisition otherwise makes a
    /// fresh one and drops it after, and with it the thread's <c>threading.local</c> data, where gevent and eventlet
    /// keep the thread's hub: a greenlet worker's hub thread keeps it from post_fork on, so what the hooks and the
    /// app's import start belongs to the hub it then runs.
    /// </summary>
    public void KeepThreadState()
    {
        ThrowIfShutDown();
        if (!t_threadStateKept)
        {
            t_threadStateKept = true;
            _ = CPython.PyGILState_Ensure(); // never released: the state lives as long as the thread
            _ = CPython.PyEval_SaveThread();
        }
    }

    /// <summary>Runs <paramref name="action"/> holding the GIL on the calling thread (config files, hooks).</summary>
    public void RunWithGil(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        ThrowIfShutDown();
        using (Py.GIL())
        {
            action();
        }
    }

    /// <inheritdoc cref="RunWithGil(Action)"/>
    public T RunWithGil<T>(Func<T> func)
    {
        ArgumentNullException.ThrowIfNull(func);
        ThrowIfShutDown();
        using (Py.GIL())
        {
            return func();
        }
    }

    /// <summary>
    /// What interpreter exit would do, without Py_Finalize: joins non-daemon Python threads, runs atexit
    /// functions, shuts logging down and flushes stdout/stderr. Call it once, from the thread that exits
    /// the process, after every app thread is disposed. Python is unusable afterwards: the GIL stays held
    /// by this thread, so nothing can touch a PyObject and exit cannot deadlock on it. Without
    /// <paramref name="joinThreads"/> non-daemon threads are left to die with the process (the master's:
    /// a thread a hook started must not hang the stop, as it does Gunicorn's).
    /// </summary>
    public void Shutdown(bool joinThreads = true)
    {
        lock (s_lock)
        {
            if (_shutDown)
            {
                return;
            }

            _shutDown = true;
        }

        CPython.PyGILState_Ensure();
        using var shutdown = BridgeModule.Get("shutdown");
        try
        {
            using var join = new PyInt(joinThreads ? 1 : 0);
            using (shutdown.Invoke(join))
            {
            }
        }
        catch (PythonException e)
        {
            _log.Error($"Exception during Python shutdown: {e.Message}");
        }

        if (!s_exitHandlerDetached)
        {
            // pythonnet's ProcessExit handler takes the GIL; let it, rather than deadlock.
            CPython.PyEval_SaveThread();
        }
    }

    /// <summary>
    /// Runs the handler application code set for <paramref name="signum"/> (only TERM's is kept), on the calling
    /// thread; one that raises is logged with its traceback. Its SystemExit is the stop already under way.
    /// </summary>
    public void RunAppSignalHandler(int signum)
    {
        string? failure = null;
        RunWithGil(() =>
        {
            try
            {
                using var run = BridgeModule.Get("run_app_signal_handler");
                using var number = new PyInt(signum);
                using var _ = run.Invoke(number);
            }
            catch (PythonException e)
            {
                failure = e.Format();
            }
        });
        if (failure is not null)
        {
            _log.Exception($"Exception in the application's handler for signal {signum}", failure);
        }
    }

    private void ThrowIfShutDown() => ObjectDisposedException.ThrowIf(_shutDown, this);

    private void Prepare(PythonRuntimeOptions options, List<(string Key, string Value)> env)
    {
        using var sys = Py.Import("sys");
        var argv = options.Argv ?? ProgramCommandLine.Args;
        using (var list = new PyList(argv.Select(a => (PyObject)new PyString(a)).ToArray()))
        {
            sys.SetAttr("argv", list);
        }

        PreparePaths(options, env);

        using (var owned = new PyList(OwnedSignals.Select(s => (PyObject)new PyInt(s)).ToArray()))
        using (var guard = BridgeModule.Get("guard_signals"))
        using (guard.Invoke(owned))
        {
        }

        using var executable = Installation.Executable is null ? PyObject.None : new PyString(Installation.Executable);
        using (var forkSafety = BridgeModule.Get("setup_fork_safety"))
        using (forkSafety.Invoke(executable))
        {
        }
    }

    private static void PreparePaths(PythonRuntimeOptions options, List<(string Key, string Value)> env)
    {
        using var envList = new PyList(env.Select(e => (PyObject)new PyTuple([new PyString(e.Key), new PyString(e.Value)])).ToArray());
        using var paths = new PyList(options.PythonPath.Select(p => (PyObject)new PyString(p)).ToArray());
        var chdir = options.Chdir ?? Directory.GetCurrentDirectory();
        using var chdirObject = new PyString(Path.GetFullPath(chdir));
        using var launch = options.LaunchDirectory is null ? PyObject.None : new PyString(options.LaunchDirectory);
        using var unset = new PyList(options.Unset.Select(name => (PyObject)new PyString(name)).ToArray());
        using (var prepare = BridgeModule.Get("prepare_paths"))
        using (prepare.Invoke(chdirObject, paths, envList, launch, unset))
        {
        }
    }

    private static string FirstLine(Exception e)
    {
        while (e.InnerException is not null && e is TypeInitializationException)
        {
            e = e.InnerException;
        }

        return e.Message.Split('\n', 2)[0].Trim();
    }

    private static List<(string Key, string Value)> ParseEnv(IReadOnlyList<string> raw)
    {
        var result = new List<(string, string)>(raw.Count);
        foreach (var item in raw)
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"Invalid value for env: {item}: expected KEY=VALUE", nameof(raw));
            }

            result.Add((item[..eq], item[(eq + 1)..]));
        }

        return result;
    }
}
