using System.Text.Json;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// The master's handle on the dirty arbiter: a python3 process running Unicorn's dirty module, which forks
/// the dirty workers, loads <c>dirty_apps</c> in them and serves calls on a Unix socket in a private
/// directory. The master starts it, forwards HUP (with the reloaded settings)/USR1/TERM/QUIT, reaps it (only
/// its own pid) and starts a new one when it dies; TTIN/TTOU sent to its pid resize the dirty pool, as in Gunicorn.
/// </summary>
internal sealed class DirtyArbiterProcess : IDisposable
{
    // The module source comes in UNICORN_DIRTY_SOURCE (not argv, which ps shows): it is run as the module
    // unicorn_dirty (registered for tracebacks), then _main().
    private const string Bootstrap =
        "import os,sys,types,linecache;s=os.environ.pop('UNICORN_DIRTY_SOURCE');m=types.ModuleType('unicorn_dirty');"
        + "m.__file__='unicorn_dirty.py';sys.modules['unicorn_dirty']=m;"
        + "linecache.cache['unicorn_dirty.py']=(len(s),None,s.splitlines(True),'unicorn_dirty.py');"
        + "exec(compile(s,'unicorn_dirty.py','exec'),m.__dict__);m._main()";

    private static readonly string[] DirtyHooks = ["on_dirty_starting", "dirty_post_fork", "dirty_worker_init", "dirty_worker_exit"];

    private readonly DirtyArbiterLaunch _launch;
    private readonly string _directory;

    public DirtyArbiterProcess(DirtyArbiterLaunch launch)
    {
        _launch = launch;
        if (launch.PythonExecutable is null)
        {
            throw new ArbiterException("Error: dirty_apps needs a Python interpreter to run the dirty arbiter; set UNICORN_PYTHON to python3, not to a libpython");
        }

        // A private directory (0700): only this user reaches the arbiter's and workers' sockets.
        _directory = Directory.CreateTempSubdirectory("unicorn-dirty-").FullName;
        SocketPath = Path.Combine(_directory, "arbiter.sock");
    }

    /// <summary>Where HTTP workers reach the pool (their GUNICORN_DIRTY_SOCKET).</summary>
    public string SocketPath { get; }

    /// <summary>The running process, 0 when none.</summary>
    public int Pid { get; private set; }

    /// <summary>The last process started, kept after it is reaped for the exit's log line.</summary>
    public int LastPid { get; private set; }

    /// <summary>Starts the dirty arbiter with the current settings; returns its pid.</summary>
    public int Spawn(Settings settings, ProcessIdentity identity, string procName, IReadOnlyList<int>? listenerFds = null)
    {
        File.Delete(ReloadPath);
        var env = ProcessSpawner.CurrentEnvironment();
        env["UNICORN_DIRTY_SOURCE"] = _launch.Source;
        env["UNICORN_DIRTY_CONFIG"] = ConfigJson(settings, procName);
        if (identity.Uid is not null || identity.Gid is not null)
        {
            env["UNICORN_DIRTY_IDENTITY"] = $"{identity.Uid?.ToString(System.Globalization.CultureInfo.InvariantCulture)}:{identity.Gid?.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        }

        Pid = ProcessSpawner.Spawn(new SpawnRequest
        {
            Path = _launch.PythonExecutable!,
            Argv = [_launch.PythonExecutable!, "-c", Bootstrap],
            Environment = env,

            // It serves no HTTP: holding the listeners, it (and its workers) kept a stop's new connections queued.
            Close = listenerFds ?? [],
        });
        LastPid = Pid;
        return Pid;
    }

    /// <summary>
    /// HUP: the reloaded settings, for the running dirty arbiter to apply (it reads this file on the HUP the
    /// master sends next, then removes it). Written whole and renamed, so it never reads half a file.
    /// </summary>
    public void WriteReload(Settings settings, string procName)
    {
        var temporary = ReloadPath + ".tmp";
        File.WriteAllText(temporary, ConfigJson(settings, procName));
        File.Move(temporary, ReloadPath, overwrite: true);
    }

    private string ReloadPath => Path.Combine(_directory, "reload.json");

    private string ConfigJson(Settings settings, string procName)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            WriteStrings(w, "apps", settings.DirtyApps);
            w.WriteNumber("workers", settings.DirtyWorkers);
            w.WriteNumber("threads", settings.DirtyThreads);
            w.WriteNumber("timeout", settings.DirtyTimeout);
            w.WriteNumber("graceful_timeout", settings.DirtyGracefulTimeout);
            w.WriteString("socket", SocketPath);
            w.WriteNumber("ppid", Environment.ProcessId);
            w.WriteString("proc_name", procName); // the dirty workers' titles, as the HTTP workers'
            w.WriteString("config", settings.ConfigFile is { } c && !c.EndsWith(".toml", StringComparison.OrdinalIgnoreCase) ? c : null);
            // Hooks given as dotted paths (the only form a TOML config has): the dirty arbiter imports them.
            w.WriteStartObject("hook_paths");
            foreach (var h in settings.HookReferences)
            {
                if (DirtyHooks.Contains(h.Setting.Name) && h.Reference.DottedPath is { } dotted)
                {
                    w.WriteString(h.Setting.Name, dotted);
                }
            }

            w.WriteEndObject();
            WriteStrings(w, "pythonpath", settings.PythonPathEntries); // --pythonpath, then what the config file added to sys.path
            w.WriteString("errorlog", settings.ErrorLog);
            w.WriteString("loglevel", settings.LogLevel ?? "info");
            // Every setting's resolved value, for the hooks' arbiter.cfg and worker.cfg (Gunicorn's Config).
            w.WritePropertyName("settings");
            SettingValues(settings).WriteTo(w);
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }

    private static JsonElement SettingValues(Settings settings)
    {
        using var document = JsonDocument.Parse(settings.ValuesJson());
        return document.RootElement.Clone();
    }

    public void Signal(int sig)
    {
        if (Pid != 0)
        {
            _ = Libc.kill(Pid, sig);
        }
    }

    /// <summary>True once the process has exited (and is reaped); <paramref name="status"/> is its wait status.</summary>
    public bool TryReap(out int status)
    {
        status = 0;
        if (Pid == 0)
        {
            return false;
        }

        var rc = Libc.waitpid(Pid, out status, Libc.WNOHANG);
        if (rc == 0 || (rc < 0 && Libc.Errno != Libc.ECHILD))
        {
            return false;
        }

        Pid = 0;
        return true;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
