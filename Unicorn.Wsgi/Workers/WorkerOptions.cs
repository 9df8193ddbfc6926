using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

/// <summary>What a connection needs from the settings, resolved once per worker.</summary>
internal sealed class WorkerOptions
{
    /// <summary>Bodies up to this size are read completely before the app runs, so a slow client
    /// holds no Python thread; larger ones stream to wsgi.input.</summary>
    public const int BufferedBodyLimit = 1 << 20;

    public required HttpParserOptions Parser { get; init; }

    /// <summary>Idle time allowed between requests on one connection; zero disables keep-alive.</summary>
    public required TimeSpan KeepAlive { get; init; }

    /// <summary>Time allowed to receive a request head, and each piece of a body.</summary>
    public required TimeSpan ReadTimeout { get; init; }

    /// <summary><c>min_request_body_rate</c>: the slowest a body may arrive, past its grace period, on top of each read's timeout.</summary>
    public MinBodyDataRate MinBodyRate { get; init; }

    public required int MaxConnections { get; init; }

    public required string ScriptName { get; init; }

    /// <summary><c>uwsgi_allow_ips</c>: peers allowed to speak uwsgi (when <c>protocol = uwsgi</c>).</summary>
    public IpAllowList UwsgiAllowIps { get; init; } = IpAllowList.Loopback;

    /// <summary><c>sendfile</c>: whether wsgi.file_wrapper and pathsend bodies may go out with sendfile(2)
    /// (<c>--no-sendfile</c> sends them as read blocks).</summary>
    public bool Sendfile { get; init; } = true;

    /// <summary>Whether a trusted forwarder's SCRIPT_NAME header mounts the app: not under asgi with <c>root_path</c>
    /// set, whose root_path is the setting alone, as in Gunicorn 26.1's ASGI worker.</summary>
    public bool ScriptNameHeader { get; init; } = true;

    public static WorkerOptions FromSettings(Settings settings) => new()
    {
        Parser = HttpParserOptions.FromSettings(settings),
        KeepAlive = TimeSpan.FromSeconds(Math.Max(0, settings.KeepAlive)),
        // Gunicorn bounds a socket read by `timeout`; Unicorn does the same per read, off the GIL.
        ReadTimeout = TimeSpan.FromSeconds(settings.Timeout > 0 ? settings.Timeout : 30),
        MinBodyRate = new MinBodyDataRate(settings.MinRequestBodyRate),
        MaxConnections = Math.Max(1, settings.WorkerConnections),
        ScriptName = CgiPath.EnvironmentScriptName,
        UwsgiAllowIps = settings.UwsgiAllowIps,
        Sendfile = settings.Sendfile,
        ScriptNameHeader = WorkerClasses.Normalise(settings.WorkerClass) != WorkerClasses.Asgi || settings.RootPath.Length == 0,
    };
}
