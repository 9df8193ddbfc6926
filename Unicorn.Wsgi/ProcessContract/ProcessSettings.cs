using System.Globalization;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Transport.Listeners;

namespace Unicorn.Wsgi.ProcessContract;

/// <summary>
/// The settings the master and worker hosts read, taken from <see cref="Settings"/> by Gunicorn name in
/// one place, so a change in how the settings table types a value touches only this file.
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

    public static ProcessSettings From(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var defaults = new ProcessSettings();
        return new ProcessSettings
        {
            Addresses = settings.Contains("bind") ? settings.ListenAddresses : defaults.Addresses,
            Backlog = Int(settings, "backlog") ?? defaults.Backlog,
            Workers = Int(settings, "workers") ?? defaults.Workers,
            WorkerClass = Str(settings, "worker_class") ?? defaults.WorkerClass,
            Timeout = Int(settings, "timeout") ?? defaults.Timeout,
            GracefulTimeout = Int(settings, "graceful_timeout") ?? defaults.GracefulTimeout,
            BootTimeout = Int(settings, "boot_timeout") ?? defaults.BootTimeout,
            Pidfile = Str(settings, "pidfile"),
            Daemon = Bool(settings, "daemon") ?? false,
            User = Str(settings, "user"),
            Group = Str(settings, "group"),
            InitGroups = Bool(settings, "initgroups") ?? false,
            Umask = Int(settings, "umask") ?? 0,
            WorkerTmpDir = Str(settings, "worker_tmp_dir"),
            ProcName = Str(settings, "proc_name"),
            DefaultProcName = Str(settings, "default_proc_name") ?? Str(settings, "wsgi_app"),
            Chdir = Str(settings, "chdir"),
            PreloadApp = Bool(settings, "preload_app") ?? false,
            ReusePort = Bool(settings, "reuse_port") ?? false,
            IsSsl = Str(settings, "certfile") is not null,
            RawEnv = List(settings, "raw_env") ?? [],
        };
    }

    private static object? Value(Settings s, string name) => s.Contains(name) ? s.Get<object?>(name) : null;

    private static string? Str(Settings s, string name) => Value(s, name) switch
    {
        null => null,
        string text when text.Length == 0 => null,
        string text => text,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var other => other.ToString(),
    };

    private static int? Int(Settings s, string name) => Value(s, name) switch
    {
        null => null,
        int i => i,
        long l => checked((int)l),
        double d => checked((int)d),
        string text => ParseInt(text),
        IConvertible c => c.ToInt32(CultureInfo.InvariantCulture),
        _ => null,
    };

    private static int? ParseInt(string text)
    {
        // umask is often written in octal ("0o22", "022"), as Gunicorn's validator accepts.
        text = text.Trim();
        if (text.StartsWith("0o", StringComparison.OrdinalIgnoreCase))
        {
            return Convert.ToInt32(text[2..], 8);
        }

        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return Convert.ToInt32(text[2..], 16);
        }

        if (text.Length > 1 && text[0] == '0')
        {
            return Convert.ToInt32(text, 8);
        }

        return int.Parse(text, CultureInfo.InvariantCulture);
    }

    private static bool? Bool(Settings s, string name) => Value(s, name) switch
    {
        null => null,
        bool b => b,
        string text => text is "1" or "true" or "True" or "yes",
        int i => i != 0,
        _ => null,
    };

    private static IReadOnlyList<string>? List(Settings s, string name) => Value(s, name) switch
    {
        null => null,
        string text => [text],
        IEnumerable<string> items => [.. items],
        System.Collections.IEnumerable items => [.. items.Cast<object?>().Select(o => Convert.ToString(o, CultureInfo.InvariantCulture) ?? "")],
        _ => null,
    };
}
