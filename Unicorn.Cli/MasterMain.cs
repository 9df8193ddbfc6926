using Unicorn.PythonBridge;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.PythonBridge.Logging;
using Unicorn.Wsgi.Arbiter;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Hooks;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Logging.Metrics;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Cli;

/// <summary>
/// The master: resolves settings, then hands over to the arbiter. Python starts in the master only when
/// something needs it (a Python config file, --preload, --check-config): a master that only supervises
/// stays small.
/// </summary>
internal static class MasterMain
{
    public static int Run(string[] args)
    {
        var env = Program.Environment();
        var workingDirectory = Directory.GetCurrentDirectory();
        var commandLine = CommandLine.Parse(args, env);
        if (commandLine.Output is { } output)
        {
            Console.Out.Write(output);
            return 0;
        }

        var python = new MasterPython(ProgramArgv(args));
        var settings = WithProgramArgv(SettingsResolver.Resolve(commandLine, env, python, workingDirectory), args);
        if (settings.PrintConfigAndExit)
        {
            if (env.ContainsKey(PrintConfig.ValidatorsVariable))
            {
                // BaseApplication's query for the settings table: its app name is a placeholder, nothing to load.
                Console.Out.Write(PrintConfig.RenderWithValidators(settings));
                return 0;
            }

            Console.Out.Write(PrintConfig.Render(settings));
            Console.Out.Flush();
        }

        if (settings.AppUri is null && settings.PasteUri is null)
        {
            throw new ConfigException("usage: unicorn [OPTIONS] [APP_MODULE]\nunicorn: error: No application module specified.", 2);
        }

        // With a Python log config the master logs through Python too, so it starts Python here. Gunicorn chdirs
        // before it sets up logging, so a log config's relative handler paths open under --chdir, where the
        // workers write, even when a config file started Python in the start directory.
        using var logging = InDirectory(settings.Chdir, () =>
            LoggingSetup.Create(settings, config => PythonLogging.Configure(StartPythonForLogging(python, settings), config)));
        // HUP swaps the logs built from the reloaded settings in behind this one (Gunicorn 26.1 reloads its log config).
        var log = new ForwardingErrorLog(logging.ErrorLog);
        python.Log = log;
        // Before the check: a certificate that cannot be read is the usual TLS deploy mistake (Gunicorn's check misses it).
        CheckTls(python, settings, log, workingDirectory);

        // --print-config implies --check-config, as in Gunicorn: a broken app or hook is exit 1 after the listing.
        if (settings.CheckConfigAndExit || settings.PrintConfigAndExit)
        {
            return CheckConfig(python, settings, log, workingDirectory);
        }

        foreach (var warning in settings.Warnings)
        {
            log.Log(LogLevel.Warning, warning);
        }

        var hooks = ServerHookBridge.ForMaster(LoadHooks(python, settings, log, workingDirectory), settings);
        if (logging.Python is null && PythonRuntime.IsInitialized)
        {
            // As in a worker: the hooks (and threads they start) may log through gunicorn.error, as under Gunicorn.
            ErrorLogFunction.RouteGunicornErrorLogger(PythonRuntime.Current, log, settings.LogLevel ?? "info");
        }

        var metrics = StartMetrics(logging);
        using var logs = new MasterLogs(logging, log, next => InDirectory(next.Chdir, () =>
            LoggingSetup.Create(next, config => PythonLogging.Configure(StartPythonForLogging(python, next), config))));
        try
        {
            return RunArbiter(args, python, settings, logs, hooks, metrics, workingDirectory);
        }
        finally
        {
            metrics?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// The app's sys.argv in the zygote and the workers: a BaseApplication script's own (it passes them in
    /// <see cref="HandOver.ScriptArgv"/>), else this command line, as Gunicorn's workers see its master's.
    /// </summary>
    private static Settings WithProgramArgv(Settings settings, string[] args)
    {
        settings.ProgramArgv = ProgramArgv(args);
        return settings;
    }

    /// <summary>
    /// sys.argv wherever Unicorn runs Python: a BaseApplication script's own, else this command line with the executable
    /// first (.NET's own argv[0] is the managed assembly, unicorn.dll, which is no program a user started).
    /// </summary>
    private static string[] ProgramArgv(string[] args)
    {
        var script = Environment.GetEnvironmentVariable(HandOver.ScriptArgv);
        string[]? fromScript = null;
        try
        {
            fromScript = script is { Length: > 0 } ? System.Text.Json.JsonSerializer.Deserialize(script, CliJsonContext.Default.StringArray) : null;
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return fromScript ?? [Environment.ProcessPath ?? "unicorn", .. args];
    }

    /// <summary>Runs <paramref name="func"/> in <paramref name="directory"/> (null: where we are).</summary>
    private static T InDirectory<T>(string? directory, Func<T> func)
    {
        if (directory is null)
        {
            return func();
        }

        var previous = Directory.GetCurrentDirectory();
        var pythonWasRunning = PythonRuntime.IsInitialized;
        try
        {
            Directory.SetCurrentDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"Error: can't chdir to '{directory}': {e.Message}", 1);
        }

        try
        {
            return func();
        }
        finally
        {
            // Python started here has chdir'd for good (its own set-up); otherwise the start directory is put
            // back, as before: the arbiter captures it for USR2, then chdirs itself.
            if (pythonWasRunning || !PythonRuntime.IsInitialized)
            {
                Directory.SetCurrentDirectory(previous);
            }
        }
    }

    /// <summary>--metrics-bind: the shared counters file and the scrape listener; a bind failure is one line, exit 1.</summary>
    private static MasterMetrics? StartMetrics(LoggingServices logging)
    {
        try
        {
            return logging.MetricsBind is { } bind ? MasterMetrics.Start(bind, Environment.ProcessId) : null;
        }
        catch (Exception e) when (e is IOException or FormatException or System.Net.Sockets.SocketException)
        {
            throw new ConfigException(e.Message, 1); // the message names --metrics-bind
        }
    }

    private static int RunArbiter(string[] args, MasterPython python, Settings settings, MasterLogs logging,
        ServerHookBridge hooks, MasterMetrics? metrics, string workingDirectory)
    {
        var log = logging.ErrorLog;
        var (zygote, zygoteUnavailable) = ZygoteLocator.Locate(python.Installation);
        return Arbiter.Run(new ArbiterOptions
        {
            Zygote = zygote,
            ZygoteUnavailable = zygoteUnavailable,
            Settings = settings,
            Log = log,
            Metrics = metrics,
            WorkersChanged = logging.WorkersChanged,
            BacklogMeasured = logging.BacklogMeasured,
            WorkerRssRecycled = () => logging.Current.Statsd?.Increment("unicorn.workers.rss_recycled"),
            Hooks = hooks.CreateMasterHooks(),
            ReloadSettings = () =>
            {
                var next = WithProgramArgv(SettingsResolver.Resolve(CommandLine.Parse(args, Program.Environment()), Program.Environment(), python, workingDirectory), args);
                // Checked as at start: with a certificate and key that no longer load, the new workers could not boot
                // and the master would stop on it; the reload is refused and the running workers serve on.
                CheckTls(python, next, log, workingDirectory);
                hooks.Update(LoadHooks(python, next, log, workingDirectory), next);
                return next;
            },
            ReopenLogs = logging.Reopen,
            ReloadLogs = logging.Reload,
            PreloadApp = s => LoadApp(python, s),
            EnvironmentChanged = changes =>
            {
                if (PythonRuntime.IsInitialized)
                {
                    PythonRuntime.Current.SetEnvironment(changes);
                }
            },
            AppSignalHandler = sig =>
            {
                if (PythonRuntime.IsInitialized)
                {
                    PythonRuntime.Current.RunAppSignalHandler(sig);
                }
            },
            PythonInfo = python.Installation.ToJson(),
            PythonDescription = python.Installation.Describe(),
            DirtyArbiter = new DirtyArbiterLaunch(python.Installation.Executable, DirtyModule.Source),
            // Always there: a HUP may turn the pool on; the control socket sees it only while it runs.
            DirtyPool = new DirtyPool(),
        });
    }

    /// <summary>
    /// A bad certificate, key or cipher list stops the master with one line, before any worker boots (or refuses a
    /// HUP). An <c>ssl_context</c> hook is called here, once, in the directory the workers serve from; its context's
    /// reading travels to the workers with the settings.
    /// </summary>
    private static void CheckTls(MasterPython python, Settings settings, IErrorLog log, string workingDirectory)
    {
        var directory = settings.Chdir ?? workingDirectory;
        if (settings.CallsSslContextHook)
        {
            StartPythonForHooks(python, settings);
            settings.SslContextResult = InDirectory(directory, () => PythonServerHooks.CallSslContext(settings, log, workingDirectory));
        }

        _ = Unicorn.Wsgi.Transport.Tls.TlsServer.FromSettings(settings, directory);
    }

    /// <summary>The config file's server hooks; Python starts for them only when some are defined.</summary>
    private static IServerHooks LoadHooks(MasterPython python, Settings settings, IErrorLog log, string workingDirectory)
    {
        if (!PythonServerHooks.HasHooks(settings))
        {
            return NoServerHooks.Instance;
        }

        StartPythonForHooks(python, settings);
        return PythonServerHooks.Load(settings, log, workingDirectory);
    }

    // A log config's "()" factories and handler classes import from --chdir and --pythonpath, as under Gunicorn, also
    // when the config file started Python without them. The caller (InDirectory) puts the directory back.
    private static PythonRuntime StartPythonForLogging(MasterPython python, Settings settings) =>
        PythonRuntime.IsInitialized
            ? python.StartWithPaths(WorkerMain.RuntimeOptions(settings) with { Env = [] })
            : python.Start(WorkerMain.RuntimeOptions(settings));

    // The hooks import from --chdir and --pythonpath, as Gunicorn's arbiter has them on sys.path (also when the
    // config file started Python without them). The directory is put back: the arbiter chdirs itself. raw_env is
    // left to the arbiter, which sets it in os.environ too and knows what each name had before (a HUP that drops
    // one puts that back).
    private static void StartPythonForHooks(MasterPython python, Settings settings)
    {
        var directory = Directory.GetCurrentDirectory();
        try
        {
            python.StartWithPaths(WorkerMain.RuntimeOptions(settings) with { Env = [] });
        }
        finally
        {
            Directory.SetCurrentDirectory(directory);
        }
    }

    private static int CheckConfig(MasterPython python, Settings settings, IErrorLog log, string workingDirectory)
    {
        // The hooks too: Gunicorn imports a hook given as "module.func" when it reads the setting, so a check that
        // passed must not be followed by a start that cannot load them.
        (LoadHooks(python, settings, log, workingDirectory) as IDisposable)?.Dispose();
        try
        {
            LoadApp(python, settings);
            return 0;
        }
        catch (AppLoadException e)
        {
            Console.Error.WriteLine($"unicorn: {e.Message}");
            return 1;
        }
    }

    private static void LoadApp(MasterPython python, Settings settings)
    {
        try
        {
            var runtime = python.StartWithPaths(WorkerMain.RuntimeOptions(settings));
            PasteDeployLoader.LoadApplication(runtime, settings, WorkerMain.AppOptions(settings), python.Log, Directory.GetCurrentDirectory());
        }
        catch (AppImportException e)
        {
            if (e.PythonTraceback is { } tb)
            {
                python.Log.Exception("Exception while loading the application", tb);
            }

            throw new AppLoadException(e.Message, e);
        }
    }

    /// <summary>Finds Python once, and starts the interpreter the first time the master needs it.</summary>
    private sealed class MasterPython(string[] argv) : IConfigFileSource
    {
        private PythonInstallation? _installation;

        public IErrorLog Log { get; set; } = new StderrErrorLog();

        public PythonInstallation Installation => _installation ??= PythonLocator.FromEnvironmentOrLocate();

        public PythonRuntime Start(PythonRuntimeOptions? options = null) =>
            PythonRuntime.IsInitialized ? PythonRuntime.Current : PythonRuntime.Initialize(Installation, Log, options ?? new() { Argv = argv });

        /// <summary>
        /// Start, and apply chdir/pythonpath/env even when Python already runs (it starts without them to
        /// read the config file, which may itself set them): the app is imported from --chdir.
        /// </summary>
        public PythonRuntime StartWithPaths(PythonRuntimeOptions options)
        {
            if (!PythonRuntime.IsInitialized)
            {
                return Start(options);
            }

            var runtime = PythonRuntime.Current;
            runtime.ApplyPaths(options);
            return runtime;
        }

        public IReadOnlyList<KeyValuePair<string, object?>> Execute(ConfigLocation location, IReadOnlySet<string> settingNames, string workingDirectory)
        {
            Start();
            return new PythonConfigFileSource().Execute(location, settingNames, workingDirectory);
        }

        public UvicornWorkerSubclass? ReadWorkerClass(string path, IReadOnlyList<string> searchPath)
        {
            Start();
            return new PythonConfigFileSource().ReadWorkerClass(path, searchPath);
        }
    }
}
