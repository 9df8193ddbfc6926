using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Logging.Metrics;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>Everything the master needs from the program: resolved settings and the Python-side callbacks.</summary>
public sealed class ArbiterOptions
{
    public required Settings Settings { get; init; }

    public required IErrorLog Log { get; init; }

    public MasterHooks Hooks { get; init; } = new();

    /// <summary>HUP: re-read the config file and command line. Throws with a one-line reason when invalid.</summary>
    public Func<Settings>? ReloadSettings { get; init; }

    /// <summary>--metrics-bind: the Prometheus side the arbiter feeds (worker slots, exits, count); null when off.</summary>
    public MasterMetrics? Metrics { get; init; }

    /// <summary>The live worker count changed (statsd's <c>gunicorn.workers</c> gauge).</summary>
    public Action<int>? WorkersChanged { get; init; }

    /// <summary>enable_backlog_metric: connections waiting in the TCP listen queues, sampled each time workers are
    /// managed (statsd's <c>gunicorn.backlog</c> histogram).</summary>
    public Action<int>? BacklogMeasured { get; init; }

    /// <summary>A worker passed max_worker_rss and is being replaced (statsd's <c>unicorn.workers.rss_recycled</c> counter).</summary>
    public Action? WorkerRssRecycled { get; init; }

    /// <summary>
    /// HUP: set the master's logs up again from the reloaded settings (log level, files, log config), as
    /// Gunicorn 26.1 does; throws with a one-line reason when they are invalid. Without it HUP only reopens.
    /// </summary>
    public Action<Settings>? ReloadLogs { get; init; }

    /// <summary>USR1 and HUP: reopen the log files.</summary>
    public Action? ReopenLogs { get; init; }

    /// <summary>--preload: import the app in the master so a broken app fails before any worker starts.</summary>
    public Action<Settings>? PreloadApp { get; init; }

    /// <summary>
    /// What the master changed in its own environment (raw_env, SERVER_SOFTWARE; a null value: unset). The master's
    /// Python, when it runs, sets the same in os.environ, where Gunicorn's master hooks find them.
    /// </summary>
    public Action<IReadOnlyList<KeyValuePair<string, string?>>>? EnvironmentChanged { get; init; }

    /// <summary>
    /// TERM: runs the handler a hook or the config file set for it with <c>signal.signal</c> (recorded, not installed:
    /// the signal is the master's), as Gunicorn's master would run it in place of its own; the stop follows.
    /// </summary>
    public Action<int>? AppSignalHandler { get; init; }

    /// <summary>How to start a zygote for <c>worker_start = fork</c>; null when it cannot be (see <see cref="ZygoteUnavailable"/>).</summary>
    public ZygoteLaunch? Zygote { get; init; }

    /// <summary>Why there is no <see cref="Zygote"/>, for the one line saying workers are spawned instead.</summary>
    public string? ZygoteUnavailable { get; init; }

    /// <summary>The bridge's PythonInstallation JSON, handed to workers so they skip locating Python again.</summary>
    public string? PythonInfo { get; init; }

    /// <summary>"/usr/bin/python3, Python 3.11.2": logged once at start, so the interpreter that runs the app is never a guess.</summary>
    public string? PythonDescription { get; init; }

    /// <summary>Settings to worker: JSON the worker turns back into <see cref="Settings"/>.</summary>
    public Func<Settings, string> SerializeSettings { get; init; } = HandOver.SerializeSettings;

    /// <summary>"Starting unicorn {Version}".</summary>
    public string Version { get; init; } = typeof(ArbiterOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>How to start the dirty arbiter when dirty_apps and dirty_workers are set; null: Python cannot run it.</summary>
    public DirtyArbiterLaunch? DirtyArbiter { get; init; }

    /// <summary>The program to start workers and USR2 masters from; default: this executable.</summary>
    public string? ExecutablePath { get; init; }

    /// <summary>Arguments of this master (for the USR2 re-exec); default: this process's arguments.</summary>
    public IReadOnlyList<string>? Arguments { get; init; }

    /// <summary>The dirty arbiter's pool, for the control socket's dirty commands; null while none runs.</summary>
    public Control.IDirtyPool? DirtyPool { get; init; }
}
