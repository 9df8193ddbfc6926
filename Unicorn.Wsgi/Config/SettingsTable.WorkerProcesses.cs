namespace Unicorn.Wsgi.Config;

// The "Worker Processes" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string WorkerSection = "Worker Processes";

    private static IEnumerable<Setting> WorkerProcessesRows() =>
    [
        IntRow("workers", WorkerSection, ["-w", "--workers"], 1,
            "How many worker processes serve requests. Two to four per core is a usual start.") with
        {
            Default = c => c.GetEnvironment("WEB_CONCURRENCY") is { } n ? n : 1,
            DefaultEnvironmentVariable = "WEB_CONCURRENCY",
            DefaultDoc = "1, or $WEB_CONCURRENCY when set",
            Validate = Validators.WorkerCount,
        },
        new Setting
        {
            Name = "worker_class",
            Section = WorkerSection,
            Type = SettingType.String,
            Flags = ["-k", "--worker-class"],
            Meta = "STRING",
            Default = _ => "sync",
            Validate = Validators.Class,
            Doc = "The worker type: sync (one request at a time), gthread (a pool of --threads Python threads), or gevent " +
                "(also gevent_wsgi, gevent_pywsgi) and eventlet (each request a greenlet on one hub thread, up to " +
                "worker_connections at once; the library is monkey-patched before the config file's callables and the app are " +
                "imported). Unicorn keeps idle connections in C#, so every class keeps connections alive.",
            UnsupportedHint = "use --worker-class gthread with --threads N, or gevent, instead",
        },
        IntRow("threads", WorkerSection, ["--threads"], 1,
            "Python threads per worker; more than 1 with the sync class means gthread."),
        IntRow("worker_connections", WorkerSection, ["--worker-connections"], 1000,
            "The most simultaneous client connections one worker holds open."),
        IntRow("max_requests", WorkerSection, ["--max-requests"], 0,
            "Restart a worker after it has served this many requests (0: never); bounds slow leaks in the app."),
        IntRow("max_requests_jitter", WorkerSection, ["--max-requests-jitter"], 0,
            "Add a random 0..N to max_requests per worker so workers do not all restart together."),
        IntRow("timeout", WorkerSection, ["-t", "--timeout"], 30,
            "Seconds a serving worker may stay silent (stuck in one request, say) before the master aborts and replaces it; 0 disables. " +
            "The clock starts when the worker is ready to serve; booting has its own allowance, boot_timeout."),
        IntRow("boot_timeout", WorkerSection, ["--boot-timeout"], 120,
            "Seconds a new worker has, from its start, to start .NET and Python and import the app before the master kills it " +
            "(never less than timeout); 0 disables. Only a worker stuck in its import should reach it, even on a busy machine.") with
        { UnicornOnly = true },
        IntRow("graceful_timeout", WorkerSection, ["--graceful-timeout"], 30,
            "Seconds workers get to finish their requests after a graceful stop or restart before they are killed."),
        IntRow("keepalive", WorkerSection, ["--keep-alive"], 2,
            "Seconds an idle keep-alive connection waits for its next request."),
        StringRow("asgi_loop", WorkerSection, ["--asgi-loop"], "STRING", "auto",
            "ASGI workers' event loop: auto, asyncio or uvloop.") with
        { Validate = Validators.OneOf("auto", "auto", "asyncio", "uvloop"), Supported = false, UnsupportedHint = "Unicorn serves WSGI applications only" },
        StringRow("asgi_lifespan", WorkerSection, ["--asgi-lifespan"], "STRING", "auto",
            "ASGI lifespan events: auto, on or off.") with
        { Validate = Validators.OneOf("auto", "auto", "on", "off"), Supported = false, UnsupportedHint = "Unicorn serves WSGI applications only" },
        IntRow("asgi_disconnect_grace_period", WorkerSection, ["--asgi-disconnect-grace-period"], 3,
            "Seconds an ASGI application gets to finish after its client disconnects.") with
        { Supported = false, UnsupportedHint = "Unicorn serves WSGI applications only" },
        StringRow("http_parser", WorkerSection, ["--http-parser"], "STRING", "auto",
            "Gunicorn's choice of HTTP parser: auto, fast or python. Unicorn always uses its own parser.") with
        { Validate = Validators.OneOf("auto", "auto", "fast", "python"), Supported = false, UnsupportedHint = "Unicorn always parses HTTP in C#" },
    ];
}
