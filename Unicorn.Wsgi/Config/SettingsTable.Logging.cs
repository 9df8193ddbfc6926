namespace Unicorn.Wsgi.Config;

// The "Logging" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string LoggingSection = "Logging";

    private static IEnumerable<Setting> LoggingRows() =>
    [
        StringRow("accesslog", LoggingSection, ["--access-logfile"], "FILE", null,
            "Where the access log goes: a file path, or '-' for stdout. Unset means no access log."),
        FlagRow("disable_redirect_access_to_syslog", LoggingSection, "--disable-redirect-access-to-syslog",
            "With syslog on, keep access log lines out of syslog."),
        StringRow("access_log_format", LoggingSection, ["--access-logformat"], "STRING",
            "%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s \"%(f)s\" \"%(a)s\"",
            "The access log line, written with Gunicorn's atoms: %(h)s remote address, %(r)s request line, %(s)s status, " +
            "%(b)s length, %(D)s microseconds, %({name}i)s a request header, and so on."),
        StringRow("errorlog", LoggingSection, ["--error-logfile", "--log-file"], "FILE", "-",
            "Where the error log goes: a file path, or '-' for stderr."),
        StringRow("loglevel", LoggingSection, ["--log-level"], "LEVEL", "info",
            "Least severe error log level written: debug, info, warning, error or critical.") with
        { Validate = Validators.LogLevel },
        FlagRow("capture_output", LoggingSection, "--capture-output",
            "Send stdout and stderr (the application's print() and tracebacks) to the error log file, when it is a file."),
        new Setting
        {
            Name = "logger_class",
            GunicornValidator = "class",
            Section = LoggingSection,
            Type = SettingType.String,
            Flags = ["--logger-class"],
            Meta = "STRING",
            Default = _ => "gunicorn.glogging.Logger",
            Validate = Validators.Class,
            Doc = "The logger: the built-in one (gunicorn.glogging.Logger, alias 'simple'), which switches to statsd when statsd_host is set, " +
                "or a subclass of gunicorn.glogging.Logger (a dotted name, or the class in a config file), through which every record " +
                "then goes, as in Gunicorn. Where Gunicorn is not installed, gunicorn.glogging is Unicorn's.",
        },
        StringRow("logconfig", LoggingSection, ["--log-config"], "FILE", null,
            "A logging.config.fileConfig ini file; when given, log records go through Python's logging."),
        new Setting
        {
            Name = "logconfig_dict",
            Section = LoggingSection,
            Type = SettingType.Dict,
            Default = _ => new Dictionary<string, object?>(StringComparer.Ordinal),
            Validate = Validators.Dict,
            Doc = "A logging.config.dictConfig dictionary (config file only); takes precedence over logconfig.",
        },
        StringRow("logconfig_json", LoggingSection, ["--log-config-json"], "FILE", null,
            "A JSON file holding a dictConfig dictionary; takes precedence over logconfig."),
        StringRow("syslog_addr", LoggingSection, ["--log-syslog-to"], "SYSLOG_ADDR", "udp://localhost:514",
            "The syslog daemon: unix://PATH#TYPE, udp://HOST:PORT or tcp://HOST:PORT."),
        FlagRow("syslog", LoggingSection, "--log-syslog",
            "Also send log lines to syslog."),
        StringRow("syslog_prefix", LoggingSection, ["--log-syslog-prefix"], "SYSLOG_PREFIX", null,
            "The program name syslog records carry (default: the process name)."),
        StringRow("syslog_facility", LoggingSection, ["--log-syslog-facility"], "SYSLOG_FACILITY", "user",
            "The syslog facility name."),
        FlagRow("enable_stdio_inheritance", LoggingSection, "-R",
            "With --daemon, keep stdout and stderr open instead of redirecting them to /dev/null (unless they are a terminal).") with
        { Flags = ["-R", "--enable-stdio-inheritance"] },
        new Setting
        {
            Name = "statsd_host",
            GunicornValidator = "statsd_address",
            Section = LoggingSection,
            Type = SettingType.String,
            Flags = ["--statsd-host"],
            Meta = "STATSD_ADDR",
            Default = _ => null,
            Validate = Validators.StatsdAddress,
            DomainValue = true,
            Doc = "Send metrics to this StatsD server: HOST:PORT (port 8125 by default) or unix://PATH.",
        },
        StringRow("dogstatsd_tags", LoggingSection, ["--dogstatsd-tags"], "DOGSTATSD_TAGS", "",
            "Comma-separated key:value tags added to every metric (DogStatsD)."),
        StringRow("statsd_prefix", LoggingSection, ["--statsd-prefix"], "STATSD_PREFIX", "",
            "A prefix for metric names; a trailing '.' is added when missing."),
        FlagRow("enable_backlog_metric", LoggingSection, "--enable-backlog-metric",
            "Send the number of connections waiting in the TCP listen queues as the gunicorn.backlog histogram (statsd), " +
            "each time the master manages workers (about once a second)."),
        new Setting
        {
            Name = "metrics_bind",
            Section = LoggingSection,
            Type = SettingType.String,
            Flags = ["--metrics-bind"],
            Meta = "ADDRESS",
            Default = _ => null,
            Validate = Validators.Address,
            Doc = "Beyond Gunicorn: serve Prometheus metrics (requests by status, duration histogram, in-flight requests, " +
                "busy Python threads, queue depth, workers, restarts by cause) at http://HOST:PORT/metrics.",
            UnicornOnly = true,
        },
    ];
}
