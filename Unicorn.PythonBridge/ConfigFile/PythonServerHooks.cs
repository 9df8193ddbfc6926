using System.Text.Json;
using Python.Runtime;
using Unicorn.PythonBridge.Logging;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// The config file's server hooks, called with Gunicorn's arguments. In the master the config module the resolver
/// ran is reused; a worker runs the config file again to get the callables (DESIGN.md, "Processes").
/// Records a hook logs through <c>server.log</c>/<c>worker.log</c> go to the error log after the call.
/// </summary>
public sealed partial class PythonServerHooks : IServerHooks, IDisposable
{
    private readonly IErrorLog _log;
    private readonly HashSet<string> _defined;
    private PyObject? _hooks;

    private PythonServerHooks(IErrorLog log, HashSet<string> defined)
    {
        _log = log;
        _defined = defined;
    }

    /// <summary>
    /// Finds every hook <paramref name="settings"/> names (config-file callables and dotted paths).
    /// Throws <see cref="ConfigException"/> when the config file or a dotted path cannot be loaded.
    /// </summary>
    public static PythonServerHooks Load(Settings settings, IErrorLog log, string workingDirectory, bool worker = false)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        var refs = HookRefs(settings, worker, log.IsEnabled(LogLevel.Debug));
        var hooks = new PythonServerHooks(log, [.. refs.Keys]);
        if (refs.Count > 0)
        {
            hooks.LoadRefs(settings, refs, log, workingDirectory, worker);
        }

        return hooks;
    }

    /// <summary>
    /// In the master, with TLS on: calls the config's <c>ssl_context</c> hook with Gunicorn's default factory and
    /// reads back what the context it returned asks for (<see cref="SslContextScript"/>). Throws
    /// <see cref="ConfigException"/> naming the hook when it raises or returns no usable context.
    /// </summary>
    public static SslContextHookResult CallSslContext(Settings settings, IErrorLog log, string workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var hook = settings.SslContext;
        using var hooks = new PythonServerHooks(log, ["ssl_context"]);
        hooks.LoadRefs(settings, new() { ["ssl_context"] = [hook.Origin.ToString(), hook.DottedPath] }, log, workingDirectory, worker: false);
        using (Py.GIL())
        {
            try
            {
                using var result = hooks._hooks!.InvokeMethod("ssl_context");
                return SslContextHookResult.FromJson(result.As<string>());
            }
            catch (PythonException e)
            {
                throw new ConfigException($"unicorn: the ssl_context hook ({settings.SslContextDisplay}) failed: {e.Type.Name}: {e.Message}");
            }
        }
    }

    private void LoadRefs(Settings settings, Dictionary<string, string?[]> refs, IErrorLog log, string workingDirectory, bool worker)
    {
        var location = settings.ConfigFile is { } file && !file.EndsWith(".toml", StringComparison.OrdinalIgnoreCase)
            ? ConfigLocation.Parse(file, workingDirectory)
            : null;
        using (Py.GIL())
        {
            _ = GloggingModule.Get(); // before the config file runs: it may subclass gunicorn.glogging.Logger
            using var scope = Py.CreateScope("unicorn_hooks");
            scope.Exec(ConfigFileScript.Source);
            scope.Exec(HookScript.Source);
            scope.Exec(SslContextScript.Source);
            using var type = scope.Get("_UnicornHooks");
            using var settingsArg = new PyString(SettingsJson(settings));
            using var kindArg = new PyString(location?.Kind == ConfigLocationKind.PythonModule ? "module" : "file");
            using var targetArg = new PyString(location?.Target ?? "");
            using var workdirArg = new PyString(workingDirectory);
            using var refsArg = new PyString(JsonSerializer.Serialize(refs, BridgeJsonContext.Default.DictionaryStringStringArray));
            // A worker process's: the worker took the master's hand-over out of os.environ as Python started.
            using var carriedArg = new PyString(worker ? Environment.GetEnvironmentVariable(HandOver.HookWorkerState) ?? "" : "");
            try
            {
                using var logs = ErrorLogFunction.CreateNamespace(log);
                using var write = logs.GetAttr("log");
                using var metric = logs.GetAttr("metric");
                using var masterNamespace = MasterStateNamespace();
                using var master = masterNamespace.GetAttr("master");
                _hooks = type.Invoke(settingsArg, kindArg, targetArg, workdirArg, refsArg, write, master, carriedArg, metric);
            }
            catch (PythonException e)
            {
                var what = e.Type.Name == "_UnicornHookImportError" ? e.Message : $"{e.Type.Name}: {e.Message}";
                throw new ConfigException($"unicorn: error: cannot load the server hooks of {settings.ConfigFile ?? "the settings"}: {what}");
            }
        }
    }

    public bool IsDefined(string hookName) => _defined.Contains(hookName);

    /// <summary>Whether <see cref="Load"/> finds any hook (<paramref name="worker"/>: in a worker).</summary>
    /// <param name="debug">The error log writes debug records (--log-level debug, or a log config's gunicorn.error level);
    /// null: as --log-level says.</param>
    public static bool HasHooks(Settings settings, bool worker = false, bool? debug = null) => HookRefs(settings, worker, debug).Count > 0;

    public void OnStarting(HookServer server) => Call("on_starting", server, null);

    public void OnReload(HookServer server) => Call("on_reload", server, null);

    public void WhenReady(HookServer server) => Call("when_ready", server, null);

    public string? PreFork(HookServer server, HookWorker worker) => Call("pre_fork", server, worker);

    public void ChildExit(HookServer server, HookWorker worker) => Call("child_exit", server, worker);

    public void NumWorkersChanged(HookServer server, int newValue, int? oldValue) =>
        Call("nworkers_changed", server, null, (newValue, oldValue));

    public void PreExec(HookServer server) => Call("pre_exec", server, null);

    public void OnExit(HookServer server) => Call("on_exit", server, null);

    public void PostFork(HookServer server, HookWorker worker) => Call("post_fork", server, worker);

    public void PostWorkerInit(HookWorker worker) => Call("post_worker_init", null, worker);

    public void WorkerInt(HookWorker worker) => Call("worker_int", null, worker);

    public void WorkerAbort(HookWorker worker) => Call("worker_abort", null, worker);

    public void WorkerExit(HookServer server, HookWorker worker) => Call("worker_exit", server, worker);

    /// <summary>In a worker, once the app has loaded: what <c>worker.wsgi</c> and <c>worker.app.callable</c> return.</summary>
    public void AppLoaded(PythonWsgiApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (_hooks is null)
        {
            return;
        }

        using (Py.GIL())
        {
            using var loaded = Handles.Wrap(app.App);
            using var _ = _hooks.InvokeMethod("set_app", loaded);
        }
    }

    public void Dispose()
    {
        if (_hooks is not null && PythonEngine.IsInitialized)
        {
            using (Py.GIL())
            {
                _hooks.Dispose();
            }
        }

        _hooks = null;
    }

    /// <summary>
    /// The hooks the settings define: name to [origin, dotted path]. In a worker at debug level Gunicorn's default
    /// <c>pre_request</c>, which logs each request's method and path, is one of them (HookScript's
    /// <c>_unicorn_default_pre_request</c>); other defaults do nothing, so they are left out.
    /// </summary>
    internal static Dictionary<string, string?[]> HookRefs(Settings settings, bool worker = false, bool? debug = null)
    {
        var refs = settings.HookReferences
            .Where(h => h.Setting.Supported && h.Setting.Name != "ssl_context" && !h.Reference.IsDefault)
            .ToDictionary(h => h.Setting.Name, h => new[] { h.Reference.Origin.ToString(), h.Reference.DottedPath });
        // At debug level by the log config too (gunicorn.error at DEBUG under --log-level info), where Gunicorn's logs it.
        if (worker && !refs.ContainsKey("pre_request") && (debug ?? string.Equals(settings.LogLevel, "debug", StringComparison.OrdinalIgnoreCase)))
        {
            refs["pre_request"] = ["Default", "_unicorn_default_pre_request"];
        }

        return refs;
    }

    /// <summary>
    /// A hook's arguments as HookScript's <c>call</c> reads them: <c>[{"server": ...}, {"worker": ...}, {"value": new},
    /// {"value": old}]</c>, each part only when given, in that order.
    /// </summary>
    internal static string ArgsJson(HookServer? server, HookWorker? worker, (int New, int? Old)? counts = null)
    {
        var w = BridgeJson.Start();
        w.WriteStartArray();
        if (server is not null)
        {
            w.WriteStartObject();
            w.WriteStartObject("server");
            w.WriteNumber("pid", server.Pid);
            w.WriteNumber("num_workers", server.NumWorkers);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        if (worker is not null)
        {
            w.WriteStartObject();
            w.WritePropertyName("worker");
            WriteWorkerSnapshot(w, worker);
            w.WriteEndObject();
        }

        if (counts is var (newValue, oldValue))
        {
            WriteValue(w, newValue);
            WriteValue(w, oldValue);
        }

        w.WriteEndArray();
        return BridgeJson.Finish(w);
    }

    private static void WriteValue(Utf8JsonWriter w, int? value)
    {
        w.WriteStartObject();
        WriteNumber(w, "value", value);
        w.WriteEndObject();
    }

    /// <summary>The hooks' <c>worker</c> object (HookScript's <c>_Worker</c> reads these names).</summary>
    internal static string WorkerSnapshotJson(HookWorker worker)
    {
        var w = BridgeJson.Start();
        WriteWorkerSnapshot(w, worker);
        return BridgeJson.Finish(w);
    }

    internal static void WriteWorkerSnapshot(Utf8JsonWriter w, HookWorker worker)
    {
        w.WriteStartObject();
        w.WriteNumber("pid", worker.Pid);
        w.WriteNumber("ppid", worker.ParentPid);
        w.WriteNumber("age", worker.Age);
        w.WriteBoolean("alive", worker.Alive);
        WriteNumber(w, "exitcode", worker.ExitCode);
        w.WriteNumber("nr", worker.Requests);
        w.WriteNumber("max_requests", worker.MaxRequests);
        if (worker.Sockets is { } sockets)
        {
            w.WriteStartArray("sockets");
            foreach (var fd in sockets)
            {
                w.WriteNumberValue(fd);
            }

            w.WriteEndArray();
        }
        else
        {
            w.WriteNull("sockets");
        }

        WriteNumber(w, "tmp", worker.TmpFd);
        w.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    // Returns what the Python side's call returns: for pre_fork, the attributes it set on the worker (JSON), else null.
    private string? Call(string name, HookServer? server, HookWorker? worker, (int New, int? Old)? counts = null)
    {
        if (_hooks is null || !_defined.Contains(name))
        {
            return null;
        }

        var args = ArgsJson(server, worker, counts);
        string? returned = null;
        Run(name, hooks =>
        {
            using var nameArg = new PyString(name);
            using var argsArg = new PyString(args);
            using var result = hooks.InvokeMethod("call", nameArg, argsArg);
            returned = result.IsNone() ? null : result.As<string>();
        });
        return returned;
    }

    // Calls into Python under the GIL (re-entrant on an app thread that holds it).
    private void Run(string name, Action<PyObject> call)
    {
        string? failure = null;
        var reason = "";
        using (Py.GIL())
        {
            try
            {
                call(_hooks!);
            }
            catch (PythonException e)
            {
                failure = e.Format();
                reason = $": {e.Type.Name}: {e.Message.Split('\n')[0]}";
            }
        }

        if (failure is not null)
        {
            _log.Exception($"Exception in {name} hook", failure);
            throw new HookFailedException($"the {name} hook raised{reason}") { Hook = name };
        }
    }

    // cfg.<setting> sees the resolved values; hooks appear by name, as Gunicorn shows a callable.
    internal static string SettingsJson(Settings settings) => settings.ValuesJson();
}
