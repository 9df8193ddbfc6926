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
            GunicornValidator = "class",
            Section = WorkerSection,
            Type = SettingType.String,
            Flags = ["-k", "--worker-class"],
            Meta = "STRING",
            Default = _ => "sync",
            Validate = Validators.Class,
            Doc = "The worker type: sync (one request at a time), gthread (a pool of --threads Python threads), gevent " +
                "(also gevent_wsgi, gevent_pywsgi) and eventlet (each request a greenlet on one hub thread, up to " +
                "worker_connections at once; the library is monkey-patched after the config file's module level and before the app is " +
                "imported), tornado (a tornado.web.Application, or a WSGI app through tornado's WSGIContainer, on one IOLoop), " +
                "or asgi (an ASGI app on one event loop; uvicorn.workers.UvicornWorker and UvicornH11Worker are the " +
                "same class, see docs/asgi.md). Unicorn keeps idle connections in C#, so every class keeps connections alive.",
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
        IntRow("max_worker_rss", WorkerSection, ["--max-worker-rss"], 0,
            "Replace a worker whose resident memory (RSS) passes this many MiB (0: never), like uWSGI's reload-on-rss and " +
            "Granian's --workers-max-rss. The master checks every second; the worker keeps serving until its replacement is " +
            "ready, then finishes its requests and exits, so no request fails.") with
        { UnicornOnly = true },
        IntRow("max_request_time", WorkerSection, ["--max-request-time"], 0,
            "Seconds after which a running request is logged, once, with the Python stack of the thread, greenlet or asyncio task " +
            "serving it (websockets are not counted) (0: never). Unlike timeout, it does not stop the worker: max_request_time_action says what else happens.") with
        { UnicornOnly = true },
        StringRow("max_request_time_action", WorkerSection, ["--max-request-time-action"], "STRING", "log",
            "What a request past max_request_time does besides the log line: 'log' nothing more; 'recycle' replaces the " +
            "worker gracefully (its replacement boots, it takes no new requests, and the slow request may finish within " +
            "graceful_timeout).") with
        { UnicornOnly = true, Validate = Validators.OneOf("log", "log", "recycle") },
        StringRow("worker_heap_limit", WorkerSection, ["--worker-heap-limit"], "SIZE", "auto",
            "How much .NET (managed) heap each worker may hold, so workers stay small under load: auto (a 2 MiB gen0 budget; " +
            "under a container memory limit also a hard limit of 75% of it divided among the workers, at least 16M), " +
            "a size such as 64M or 1G per worker, a percentage of the container's (else the machine's) memory per worker, " +
            "or unlimited (.NET's own defaults). A hard limit under 256M also gets 1 MiB GC regions (in .NET's 4 MiB ones a small heap " +
            "ran out of regions and crashed the worker). Python's objects are not on this heap. A DOTNET_GC* variable in the environment wins (in the native build, only the hard limit's: docs/deploy.md).") with
        { Validate = Validators.WorkerHeapLimit, DomainValue = true, UnicornOnly = true },
        IntRow("timeout", WorkerSection, ["-t", "--timeout"], 30,
            "Seconds a serving worker may stay silent (stuck in one request, say) before the master aborts and replaces it; 0 disables. " +
            "The clock starts when the worker is ready to serve; booting has its own allowance, boot_timeout."),
        IntRow("boot_timeout", WorkerSection, ["--boot-timeout"], 120,
            "Seconds a new worker has, from its start, to start .NET and Python and import the app before the master kills it " +
            "(never less than timeout); 0 disables. Only a worker stuck in its import should reach it, even on a busy machine.") with
        { UnicornOnly = true },
        StringRow("worker_start", WorkerSection, ["--worker-start"], "STRING", "fork",
            "How the master starts a worker. fork: workers are forked from a zygote, a python3 process that imports " +
            "the app once with --preload (workers share its memory) and starts .NET in each forked worker; when the " +
            "zygote cannot start, workers are spawned (one log line says why). spawn: the unicorn program is started " +
            "again and imports the app itself.") with
        { Validate = Validators.OneOf("fork", "spawn", "fork"), UnicornOnly = true },
        IntRow("worker_spares", WorkerSection, ["--worker-spares"], 0,
            "Workers kept booted but parked (not accepting) beside the serving ones: .NET started, the config file's hooks " +
            "and post_fork run, the app imported. A new worker (TTIN, a dead, timed-out or retired worker) promotes one at " +
            "once instead of waiting for a boot, and a replacement spare boots in the background once no worker is booting. " +
            "HUP discards them, so none serves older config or code (USR2's new master boots its own). Each costs a worker's " +
            "memory. Not with reload or reuse_port.") with
        { UnicornOnly = true },
        IntRow("graceful_timeout", WorkerSection, ["--graceful-timeout"], 30,
            "Seconds workers get to finish their requests after a graceful stop or restart before they are killed."),
        IntRow("keepalive", WorkerSection, ["--keep-alive"], 2,
            "Seconds an idle keep-alive connection waits for its next request."),
        StringRow("asgi_loop", WorkerSection, ["--asgi-loop"], "STRING", "auto",
            "ASGI workers' event loop: auto (uvloop when installed, else asyncio), asyncio or uvloop (where it is not installed: a warning and asyncio, as Gunicorn 26.1).") with
        { GunicornValidator = "asgi_loop", Validate = Validators.OneOf("auto", "auto", "asyncio", "uvloop") },
        StringRow("asgi_lifespan", WorkerSection, ["--asgi-lifespan"], "STRING", "auto",
            "ASGI lifespan events: auto (run them; an app that fails them is served without), on (a failed startup stops the worker) or off.") with
        { GunicornValidator = "asgi_lifespan", Validate = Validators.OneOf("auto", "auto", "on", "off") },
        IntRow("asgi_disconnect_grace_period", WorkerSection, ["--asgi-disconnect-grace-period"], 3,
            "Seconds an ASGI application gets to finish after its client disconnects before its task is cancelled."),
        IntRow("ws_max_size", WorkerSection, ["--ws-max-size"], 16 * 1024 * 1024,
            "ASGI websockets: the largest message in bytes (uvicorn's name and default); a bigger one, whole or in " +
            "fragments, closes the websocket with 1009 Message Too Big.") with
        { UnicornOnly = true, Validate = Validators.WorkerCount }, // at least 1
        IntRow("ws_ping_interval", WorkerSection, ["--ws-ping-interval"], 20,
            "ASGI websockets: seconds between the pings the server sends (uvicorn's name and default); 0 sends none.") with
        { UnicornOnly = true },
        IntRow("ws_ping_timeout", WorkerSection, ["--ws-ping-timeout"], 20,
            "ASGI websockets: seconds a ping may wait for its pong before the connection is dropped (uvicorn's name and " +
            "default); 0 waits for none.") with
        { UnicornOnly = true },
        StringRow("http_parser", WorkerSection, ["--http-parser"], "STRING", "auto",
            "Gunicorn's choice of HTTP parser: auto, fast or python. Unicorn always uses its own parser.") with
        { GunicornValidator = "http_parser", Validate = Validators.OneOf("auto", "auto", "fast", "python"), Supported = false, UnsupportedHint = "Unicorn always parses HTTP in C#" },
    ];
}
