using System.Globalization;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Transport.Listeners;

namespace Unicorn.Wsgi.ProcessContract;

/// <summary>
/// The settings the master and worker hosts read, copied from <see cref="Settings"/>' typed properties in
/// one place (<see cref="From"/>).
/// </summary>
public sealed record ProcessSettings
{
    /// <summary>The <c>bind</c> addresses, parsed when settings resolved.</summary>
    public IReadOnlyList<ListenAddress> Addresses { get; init; } = [ListenAddress.Parse("127.0.0.1:8000")];

    /// <summary>The <c>bind</c> addresses as written.</summary>
    public IReadOnlyList<string> Bind => [.. Addresses.Select(a => a.Text)];
    public int Backlog { get; init; } = 2048;
    public int Workers { get; init; } = 1;
    public string WorkerClass { get; init; } = "sync";
    public int Timeout { get; init; } = 30;
    public int GracefulTimeout { get; init; } = 30;
    public int BootTimeout { get; init; } = 120;
    public string? Pidfile { get; init; }
    public bool Daemon { get; init; }
    public string? User { get; init; }
    public string? Group { get; init; }
    public bool InitGroups { get; init; }
    public int Umask { get; init; }
    public string? WorkerTmpDir { get; init; }
    public string? ProcName { get; init; }
    public string? DefaultProcName { get; init; }
    public string? Chdir { get; init; }
    public bool PreloadApp { get; init; }
    public bool ReusePort { get; init; }
    public bool IsSsl { get; init; }
    public IReadOnlyList<string> RawEnv { get; init; } = [];

    /// <summary><c>max_worker_rss</c> in MiB; 0: off.</summary>
    public int MaxWorkerRss { get; init; }

    /// <summary><c>max_request_time</c> in seconds; 0: off.</summary>
    public int MaxRequestTime { get; init; }

    /// <summary><c>max_request_time_action</c> is <c>recycle</c>.</summary>
    public bool RecycleOnMaxRequestTime { get; init; }

    /// <summary>The control socket's path, or null with <c>--no-control-socket</c>.</summary>
    public string? ControlSocket { get; init; }
    public int ControlSocketMode { get; init; } = 384;

    /// <summary>The name in process titles: proc_name, else the app (default_proc_name), else "unicorn".</summary>
    public string Name => ProcName ?? DefaultProcName ?? "unicorn";

    /// <summary>How listeners are bound, by the master and by a worker binding its own SO_REUSEPORT sockets.</summary>
    internal ListenerOptions ListenerOptions()
    {
        var identity = ProcessIdentity.Resolve(this);
        return new ListenerOptions
        {
            Backlog = Backlog,
            ReusePort = ReusePort,
            Umask = Umask,
            Uid = identity.Uid,
            Gid = identity.Gid,
            IsSsl = IsSsl,
        };
    }

    /// <summary>The process numbers and names from the resolved settings' typed values, read here and nowhere else.</summary>
    public static ProcessSettings From(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new ProcessSettings
        {
            Addresses = settings.ListenAddresses,
            Backlog = settings.Backlog,
            Workers = settings.Workers,
            WorkerClass = settings.WorkerClass,
            Timeout = settings.Timeout,
            GracefulTimeout = settings.GracefulTimeout,
            BootTimeout = settings.BootTimeout,
            Pidfile = NullIfEmpty(settings.Pidfile),
            Daemon = settings.Daemon,
            // The validators already turned names into ids; ProcessIdentity reads them as numbers.
            User = settings.User.ToString(CultureInfo.InvariantCulture),
            Group = settings.Group.ToString(CultureInfo.InvariantCulture),
            InitGroups = settings.InitGroups,
            Umask = settings.Umask,
            WorkerTmpDir = NullIfEmpty(settings.WorkerTmpDir),
            ProcName = NullIfEmpty(settings.ProcNameSetting),
            DefaultProcName = NullIfEmpty(settings.DefaultProcName) ?? NullIfEmpty(settings.WsgiApp),
            Chdir = NullIfEmpty(settings.Chdir),
            PreloadApp = settings.PreloadApp,
            ReusePort = settings.ReusePort,
            IsSsl = NullIfEmpty(settings.CertFile) is not null,
            RawEnv = settings.RawEnv,
            MaxWorkerRss = settings.MaxWorkerRss,
            MaxRequestTime = settings.MaxRequestTime,
            RecycleOnMaxRequestTime = settings.MaxRequestTimeAction == "recycle",
            ControlSocket = settings.ControlSocketDisable ? null : NullIfEmpty(settings.ControlSocket),
            ControlSocketMode = settings.ControlSocketMode,
        };
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}
