using System.Text.Json;
using Python.Runtime;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.Logging;

/// <summary>
/// <see cref="IPythonLogging"/> over CPython's <c>logging</c>: <see cref="Configure"/> applies the user's
/// configuration once per process; every record afterwards takes the GIL (re-entrantly) and calls the
/// logger. Access lines arrive from the access log's writer thread, never from a request thread.
/// </summary>
public sealed class PythonLogging : IPythonLogging, IDisposable
{
    private readonly PyModule _scope;
    private readonly PyObject _error;
    private readonly PyObject _access;
    private readonly PyObject _reopen;
    private readonly PyObject? _liveException;
    private readonly bool _loggerClass;
    private int _broken;
    private static volatile bool s_liveExceptions;

    private PythonLogging(PyModule scope, PyObject module, LogLevel errorLevel, bool loggerClass, bool ownException)
    {
        _scope = scope;
        ErrorLevel = errorLevel;
        _loggerClass = loggerClass;
        _error = module.GetAttr("_unicorn_log_error");
        _access = module.GetAttr(loggerClass ? "_unicorn_log_access_record" : "_unicorn_log_access");
        _reopen = module.GetAttr("_unicorn_log_reopen");
        _liveException = ownException ? module.GetAttr("_unicorn_log_live_exception") : null;
    }

    /// <summary>This process's <c>logger_class</c> has an <c>exception()</c> of its own: where Gunicorn calls it in an
    /// except block, the bridge keeps the app's exception to make it the handled one while the record is logged
    /// (<see cref="Exception(string, string, string, string[])"/>). False for everyone else, who pay nothing.</summary>
    public static bool LiveExceptions => s_liveExceptions;

    /// <summary>Applies <paramref name="config"/> in the running interpreter. Throws <see cref="ArgumentException"/>
    /// with one line naming the file or setting when Python's logging refuses it (a bad file, a handler class
    /// that can't be imported, a logger class that raises...).</summary>
    public static PythonLogging Configure(PythonRuntime runtime, PythonLogConfig config)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(config);
        var what = config.Kind switch
        {
            _ when config.LoggerClass is { } name => $"--logger-class {name}",
            "dict" => "logconfig_dict",
            "json" => $"--log-config-json {config.Source}",
            _ => $"{config.Option ?? "--log-config"} {config.Source}",
        };
        return runtime.RunWithGil(() =>
        {
            var scope = Py.CreateScope("unicorn_logging");
            var ownException = false;
            try
            {
                var module = GloggingModule.Get();
                scope.Exec(ConfigFile.ConfigFileScript.Source);
                if (config.ConfigFile is { } file && (config.Source.Contains("\"__config__.", StringComparison.Ordinal)
                    || config.LoggerClass?.StartsWith("__config__.", StringComparison.Ordinal) == true))
                {
                    // A class the dictionary or logger_class names from the config file ("()": JsonFormatter) resolves by
                    // import of __config__: a worker has not run the file yet (its hooks load later), the master has.
                    using var load = scope.Get("_unicorn_config_module");
                    using var __ = load.Invoke(new PyString("file"), new PyString(file), new PyString(Directory.GetCurrentDirectory()));
                }

                using var kind = config.Kind.Length == 0 ? PyObject.None : new PyString(config.Kind);
                using var source = new PyString(config.Source);
                if (config.LoggerClass is { } loggerClass)
                {
                    // The class gets Gunicorn's cfg, and its access() Gunicorn's req and resp: the hooks' objects.
                    scope.Exec(ConfigFile.HookScript.Source);
                    using var json = Py.Import("json");
                    using var values = json.InvokeMethod("loads", new PyString(config.SettingsJson ?? "{}"));
                    using var configType = scope.Get("_UnicornConfig");
                    using var cfg = configType.Invoke(values);
                    using var request = scope.Get("_UnicornRequest");
                    using var response = scope.Get("_UnicornResponse");
                    using var setupClass = module.GetAttr("_unicorn_log_setup_class");
                    using var owns = setupClass.Invoke(new PyString(loggerClass), cfg, request, response, kind, source);
                    ownException = owns.IsTrue();
                }
                else
                {
                    using var setup = module.GetAttr("_unicorn_log_setup");
                    using var accessLog = config.AccessLog is null ? PyObject.None : new PyString(config.AccessLog);
                    using var _ = setup.Invoke(kind, source, new PyString(config.LogLevel), new PyString(config.ErrorLog), accessLog);
                }

                using var logging = Py.Import("logging");
                using var errorLogger = logging.InvokeMethod("getLogger", new PyString("gunicorn.error"));
                using var level = errorLogger.InvokeMethod("getEffectiveLevel");
                var configured = new PythonLogging(scope, module, ToLevel(level.As<int>()), config.LoggerClass is not null, ownException);
                s_liveExceptions = ownException;
                return configured;
            }
            catch (PythonException e)
            {
                scope.Dispose();
                var reason = e.Message.Split('\n')[0];
                // dictConfig's own words name only the part ("Unable to configure handler 'h'"); what went wrong is its
                // __cause__ (No module named 'nope', a directory that does not exist...), so that is said too.
                for (var cause = e.InnerException as PythonException; cause is not null; cause = cause.InnerException as PythonException)
                {
                    var said = cause.Message.Split('\n')[0];
                    reason += reason.EndsWith(said, StringComparison.Ordinal) ? "" : $": {cause.Type.Name}: {said}";
                }

                throw new ArgumentException($"Error: {what}: {e.Type.Name}: {reason}", e);
            }
        });
    }

    public LogLevel ErrorLevel { get; }

    // Python's numeric levels, rounded up to the next level Unicorn logs at (NOTSET: everything).
    private static LogLevel ToLevel(int level) => level switch
    {
        <= 10 => LogLevel.Debug,
        <= 20 => LogLevel.Info,
        <= 30 => LogLevel.Warning,
        <= 40 => LogLevel.Error,
        _ => LogLevel.Critical,
    };

    // The arguments are built inside the GIL: creating a PyObject without it allocates from an interpreter
    // this thread has no state for (a SIGSEGV on Python 3.12+, whose allocator is per interpreter; a heap
    // race on 3.11). The master logs from threads that never hold the GIL.
    public void Error(LogLevel level, string message) => Call(() => Invoke(_error, new PyInt((int)level), new PyString(message)));

    public void Exception(string message, string traceback) =>
        Call(() => Invoke(_error, new PyInt((int)LogLevel.Error), new PyString(message), new PyString(traceback.TrimEnd('\n'))));

    public void Exception(string message, string traceback, string format, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (_liveException is not { } live)
        {
            Exception(message, traceback);
            return;
        }

        Call(() =>
        {
            var call = new PyObject[3 + args.Length];
            call[0] = new PyString(message);
            call[1] = new PyString(traceback.TrimEnd('\n'));
            call[2] = new PyString(format);
            for (var i = 0; i < args.Length; i++)
            {
                call[3 + i] = new PyString(args[i]);
            }

            Invoke(live, call);
        });
    }

    public void Access(AccessLogEntry entry, string line, IReadOnlyList<KeyValuePair<string, object>> atoms)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(atoms);
        if (Volatile.Read(ref _broken) != 0 || !PythonEngine.IsInitialized)
        {
            return;
        }

        var record = _loggerClass ? AccessRecordJson(entry) : null;
        using (Py.GIL())
        {
            if (record is not null)
            {
                Invoke(_access, new PyString(record));
                return;
            }

            using var dict = AtomsDict(atoms);
            Invoke(_access, new PyString(line), dict);
        }
    }

    // One request as a logger class's access() takes it: Gunicorn's resp, req (HookScript's shapes), environ and time.
    internal static string AccessRecordJson(AccessLogEntry entry)
    {
        var environ = entry.Environ?.Invoke() ?? new Dictionary<string, string>();
        var uri = entry.RawUri;
        var end = uri.IndexOfAny(['?', '#']);
        var w = BridgeJson.Start();
        w.WriteStartObject();
        w.WriteNumber("us", (long)entry.Duration.TotalMicroseconds);
        w.WriteStartObject("environ");
        foreach (var (name, value) in environ)
        {
            w.WriteString(name, value);
        }

        w.WriteEndObject();
        w.WriteStartObject("req");
        w.WriteString("method", entry.Method);
        w.WriteString("uri", uri);
        w.WriteString("path", end < 0 ? uri : uri.AsSpan(0, end));
        w.WriteString("query", entry.Query);
        w.WriteStartArray("version");
        var http = entry.Protocol.StartsWith("HTTP/", StringComparison.Ordinal) && entry.Protocol.Length == 8;
        w.WriteNumberValue(http ? entry.Protocol[5] - '0' : 1);
        w.WriteNumberValue(http ? entry.Protocol[7] - '0' : 1);
        w.WriteEndArray();
        ConfigFile.PythonServerHooks.WriteHeaders(w, entry.RequestHeaders);
        w.WriteString("scheme", environ.GetValueOrDefault("wsgi.url_scheme", "http"));
        if (entry.RemoteAddress is { Length: > 0 } address)
        {
            w.WriteStartArray("peer");
            w.WriteStringValue(address);
            w.WriteNumberValue(int.TryParse(environ.GetValueOrDefault("REMOTE_PORT"), out var port) ? port : 0);
            w.WriteEndArray();
        }
        else
        {
            w.WriteNull("peer");
        }

        w.WriteEndObject();
        w.WriteStartObject("resp");
        w.WriteString("status", entry.Status);
        ConfigFile.PythonServerHooks.WriteHeaders(w, entry.ResponseHeaders);
        if (entry.ResponseLength is { } sent)
        {
            w.WriteNumber("sent", sent);
        }
        else
        {
            w.WriteNull("sent");
        }

        w.WriteEndObject();
        w.WriteEndObject();
        return BridgeJson.Finish(w);
    }

    /// <summary>An access line's atoms as the record's args dict, as Gunicorn passes them (GIL held).</summary>
    internal static PyDict AtomsDict(IReadOnlyList<KeyValuePair<string, object>> atoms)
    {
        var dict = new PyDict();
        foreach (var (key, value) in atoms)
        {
            using PyObject item = value is long n ? new PyInt(n) : new PyString(value.ToString() ?? "");
            dict.SetItem(key, item);
        }

        return dict;
    }

    public void Reopen() => Call(() => Invoke(_reopen));

    public void Close() => Volatile.Write(ref _broken, 1);

    public void Dispose()
    {
        using (Py.GIL())
        {
            _error.Dispose();
            _access.Dispose();
            _reopen.Dispose();
            _liveException?.Dispose();
            _scope.Dispose();
        }
    }

    private void Call(Action invoke)
    {
        if (Volatile.Read(ref _broken) != 0 || !PythonEngine.IsInitialized)
        {
            return;
        }

        using (Py.GIL())
        {
            invoke();
        }
    }

    // A handler that raises is Python logging's business (it prints "--- Logging error ---" itself);
    // anything escaping to here means the bridge can't log at all: say so once on stderr, then stop trying.
    private void Invoke(PyObject function, params PyObject[] args)
    {
        try
        {
            using var _ = function.Invoke(args);
        }
        catch (Exception e) when (e is PythonException or InvalidOperationException or ObjectDisposedException)
        {
            if (Interlocked.Exchange(ref _broken, 1) == 0)
            {
                Console.Error.WriteLine($"unicorn: Python logging failed, records are dropped from now on: {e.Message}");
            }
        }
        finally
        {
            foreach (var arg in args)
            {
                arg.Dispose();
            }
        }
    }
}
