using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Tests.Logging;

/// <summary>
/// How <see cref="LoggingSetup"/> chooses a Python log configuration and routes records to it (Python itself
/// is replaced by a recorder here; the end-to-end tests run the real one).
/// </summary>
public class PythonLoggingRoutingTests
{
    private sealed class Recorder(LogLevel level) : IPythonLogging
    {
        public List<string> Records { get; } = [];

        public PythonLogConfig? Config { get; set; }

        public LogLevel ErrorLevel => level;

        public void Error(LogLevel level, string message)
        {
            lock (Records)
            {
                Records.Add($"error {level} {message}");
            }
        }

        public void Access(AccessLogEntry entry, string line, IReadOnlyList<KeyValuePair<string, object>> atoms)
        {
            var values = atoms.ToDictionary(p => p.Key, p => p.Value);
            lock (Records)
            {
                Records.Add($"access {line} s={values["s"]} B={values["B"]} ua={values["{user-agent}i"]}");
            }
        }

        public void Reopen() => Records.Add("reopen");

        public void Close()
        {
        }
    }

    [Fact]
    public void Dict_wins_over_json_which_wins_over_ini_and_files_must_exist()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.ini"), "");
        File.WriteAllText(dir.File("a.json"), "{}");
        var dict = new Dictionary<string, object?> { ["version"] = 1L, ["root"] = new Dictionary<string, object?> { ["level"] = "INFO" } };

        Assert.Null(LoggingSetup.PythonConfig(LogSettings.With()));
        Assert.Null(LoggingSetup.PythonConfig(LogSettings.With(("logconfig_dict", new Dictionary<string, object?>()))));
        Assert.Equal(new PythonLogConfig("ini", dir.File("a.ini"), "debug", "-", null),
            LoggingSetup.PythonConfig(LogSettings.With(("logconfig", dir.File("a.ini")), ("loglevel", "debug"))));
        Assert.Equal("json", LoggingSetup.PythonConfig(LogSettings.With(("logconfig", dir.File("a.ini")), ("logconfig_json", dir.File("a.json"))))!.Kind);
        var fromDict = LoggingSetup.PythonConfig(LogSettings.With(("logconfig", dir.File("a.ini")), ("logconfig_dict", dict), ("accesslog", "-")))!;
        Assert.Equal(("dict", """{"version":1,"root":{"level":"INFO"}}""", "-"), (fromDict.Kind, fromDict.Source, fromDict.AccessLog));

        var missing = Assert.Throws<LoggingSetupException>(() => LoggingSetup.Create(LogSettings.With(("logconfig", dir.File("none.ini"))), _ => new Recorder(LogLevel.Info)));
        Assert.Equal($"Error: log config '{dir.File("none.ini")}' not found", missing.Message);
    }

    [Fact]
    public void Error_records_at_the_configured_level_and_access_lines_with_atoms_go_to_python_not_to_files()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("log.ini"), "");
        var python = new Recorder(LogLevel.Warning);
        PythonLogConfig? seen = null;
        using (var logs = LoggingSetup.Create(
                   LogSettings.With(("logconfig", dir.File("log.ini")), ("accesslog", dir.File("access.log")), ("access_log_format", "%(r)s %({x-id}o)s %({User-Agent}i)s")),
                   config => { seen = config; return python; }))
        {
            Assert.True(logs.WantsRequests);
            IErrorLog errors = logs.ErrorLog;
            errors.Info("below the configured level");
            errors.Warning("kept");
            logs.OnRequest(new AccessLogEntry
            {
                Method = "GET", RawUri = "/a", Path = "/a", Protocol = "HTTP/1.1", Status = "404 Not Found", ResponseLength = 9,
                RequestHeaders = [new("User-Agent", "t\"x")], ResponseHeaders = [new("X-Id", "7")],
            });
            Assert.True(logs.AccessLog.Flush(TimeSpan.FromSeconds(10)));
            logs.Reopen();
        }

        Assert.Equal(dir.File("access.log"), seen!.AccessLog);
        Assert.Equal(["error Warning kept", "access GET /a HTTP/1.1 7 t\\\"x s=404 B=9 ua=t\\\"x", "reopen"], python.Records);
        Assert.False(File.Exists(dir.File("access.log"))); // Python's handler owns it
    }

    [Theory]
    [InlineData("gunicorn.glogging.Logger", null)]
    [InlineData("glogging.Logger", null)]
    [InlineData("simple", null)]
    [InlineData("gunicorn.instrument.statsd.Statsd", "127.0.0.1:8125")]
    public void Gunicorns_own_logger_classes_keep_records_in_unicorn(string loggerClass, string? statsd)
    {
        var settings = LogSettings.With(("logger_class", loggerClass), ("statsd_host", statsd is null ? null : StatsdAddress.Parse(statsd)));
        Assert.Null(LoggingSetup.PythonConfig(settings));
        LoggingSetup.Create(settings).Dispose();
    }

    [Theory]
    [InlineData("gunicorn.instrument.statsd.Statsd", "--logger-class: gunicorn.instrument.statsd.Statsd needs --statsd-host")]
    [InlineData("JsonLogger", "--logger-class: 'JsonLogger' is not a dotted class name (module.Class)")]
    public void A_logger_class_that_cannot_work_stops_with_one_line(string loggerClass, string message)
    {
        var e = Assert.Throws<LoggingSetupException>(() => LoggingSetup.Create(LogSettings.With(("logger_class", loggerClass))));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void A_logger_class_of_the_users_takes_every_record_over_the_log_configuration_it_applies()
    {
        using var dir = new TempDir();
        var ini = dir.File("logging.ini");
        File.WriteAllText(ini, "[loggers]\nkeys=root\n");
        var settings = LogSettings.With(("logger_class", "myapp.logs.JsonLogger"), ("logconfig", ini), ("loglevel", "warning"));
        var config = LoggingSetup.PythonConfig(settings)!;
        Assert.Equal("myapp.logs.JsonLogger", config.LoggerClass);
        Assert.Equal(("ini", ini, "warning"), (config.Kind, config.Source, config.LogLevel));
        Assert.Contains("\"loglevel\":\"warning\"", config.SettingsJson, StringComparison.Ordinal);

        var alone = LoggingSetup.PythonConfig(LogSettings.With(("logger_class", "myapp.logs.JsonLogger")))!;
        Assert.Equal(("", "myapp.logs.JsonLogger"), (alone.Kind, alone.LoggerClass));
    }
}
