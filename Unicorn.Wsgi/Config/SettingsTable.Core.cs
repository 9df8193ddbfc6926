namespace Unicorn.Wsgi.Config;

public static partial class SettingsTable
{
    private const string ConfigFileSection = "Config File";
    private const string SocketSection = "Server Socket";
    private const string WorkerSection = "Worker Processes";
    private const string SecuritySection = "Security";

    private static IEnumerable<Setting> CoreRows() =>
    [
        StringRow("config", ConfigFileSection, ["-c", "--config"], "CONFIG", "./gunicorn.conf.py",
            "The config file: PATH, file:PATH or python:MODULE_NAME (a .toml file, or pyproject.toml's [tool.unicorn] table, also works). " +
            "Without it, ./gunicorn.conf.py is read when present. Only the command line and GUNICORN_CMD_ARGS can set it."),
        StringRow("wsgi_app", ConfigFileSection, [], "STRING", null,
            "The application as MODULE:VARIABLE, used when no APP_MODULE is given on the command line."),
        new Setting
        {
            Name = "bind",
            Section = SocketSection,
            Type = SettingType.StringList,
            Flags = ["-b", "--bind"],
            Meta = "ADDRESS",
            Action = CliAction.Append,
            Default = c => c.GetEnvironment("PORT") is { } port ? new[] { $"0.0.0.0:{port}" } : new[] { "127.0.0.1:8000" },
            DefaultEnvironmentVariable = "PORT",
            DefaultDoc = "['127.0.0.1:8000'], or ['0.0.0.0:$PORT'] when PORT is set",
            Validate = Validators.Binds,
            DomainValue = true,
            Doc = "Where to listen: HOST, HOST:PORT, [IPV6]:PORT, unix:PATH or fd://FD. Repeat the flag to listen on several addresses.",
        },
        IntRow("backlog", SocketSection, ["--backlog"], 2048,
            "How many connections may wait to be accepted before the kernel refuses more (listen(2)'s backlog; capped by net.core.somaxconn)."),
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
            Doc = "The worker type: sync (one request at a time) or gthread (a pool of --threads Python threads). " +
                "Unicorn keeps idle connections in C#, so both keep connections alive.",
            UnsupportedHint = "use --worker-class gthread with --threads N instead",
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
        IntRow("limit_request_line", SecuritySection, ["--limit-request-line"], 4094,
            "Longest request line in bytes (0: unlimited; at most 8190); guards against oversized-request attacks."),
        IntRow("limit_request_fields", SecuritySection, ["--limit-request-fields"], 100,
            "Most header fields in one request (at most 32768)."),
        IntRow("limit_request_field_size", SecuritySection, ["--limit-request-field_size"], 8190,
            "Longest header field in bytes (0: unlimited)."),
    ];
}
