using System.Text.RegularExpressions;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// Python logging configurations on the real binary: the records of <c>gunicorn.error</c> and
/// <c>gunicorn.access</c> go through the user's handlers and formatters (ini, dictConfig, JSON);
/// <c>--capture-output</c>; and a <c>--logger-class</c> that cannot be imported.
/// </summary>
public sealed class PythonLogConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-logconfig-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Ini_log_config_writes_error_and_access_records_to_its_two_files()
    {
        var ini = Path.Combine(_dir, "logging.ini");
        File.WriteAllText(ini, """
            [loggers]
            keys=root,error,access

            [handlers]
            keys=errors,requests

            [formatters]
            keys=named

            [logger_root]
            level=WARNING
            handlers=

            [logger_error]
            level=DEBUG
            handlers=errors
            propagate=0
            qualname=gunicorn.error

            [logger_access]
            level=INFO
            handlers=requests
            propagate=0
            qualname=gunicorn.access

            [handler_errors]
            class=FileHandler
            formatter=named
            args=('%(here)s/error.log', 'a')

            [handler_requests]
            class=FileHandler
            formatter=named
            args=('%(here)s/access.log', 'a')

            [formatter_named]
            format=%(name)s %(levelname)s %(message)s
            """);
        var port = UnicornServer.FreePort();
        using (var server = UnicornServer.Start("-w", "1", "-b", $"127.0.0.1:{port}", "--log-config", ini, "pyfixtures.metrics_app:app"))
        {
            Assert.True(UnicornServer.Poll(() => server.HasExited || UnicornServer.TryGet(port, "/?status=404") == 404, 60) && !server.HasExited,
                "server did not answer:\n" + server.Log);
            Assert.True(UnicornServer.Poll(() => File.Exists(Path.Combine(_dir, "access.log"))
                && File.ReadAllText(Path.Combine(_dir, "access.log")).Contains("\" 404 ", StringComparison.Ordinal), 10));
            server.Signal(UnicornServer.SIGTERM);
            Assert.Equal(0, server.WaitForExit());
            Assert.DoesNotContain("[INFO]", server.Log, StringComparison.Ordinal); // nothing left on the default stderr handler
        }

        var errors = File.ReadAllText(Path.Combine(_dir, "error.log"));
        Assert.Contains("gunicorn.error INFO Starting unicorn", errors, StringComparison.Ordinal); // the master
        Assert.Matches(@"gunicorn\.error INFO Booting worker with pid: \d+", errors); // a worker
        Assert.Contains("gunicorn.error DEBUG 1 workers", errors, StringComparison.Ordinal); // the config's level, below --log-level
        Assert.Contains("gunicorn.error INFO Shutting down: Master", errors, StringComparison.Ordinal);
        var access = File.ReadAllLines(Path.Combine(_dir, "access.log")).Where(l => l.Contains("status=404", StringComparison.Ordinal)).ToList();
        Assert.Single(access);
        Assert.Matches(new Regex("""^gunicorn\.access INFO 127\.0\.0\.1 - - \[[^\]]+\] "GET /\?status=404 HTTP/1\.0" 404 2 "-" "-"$"""), access[0]);
    }

    [Fact]
    public void Usr1_reopens_the_python_file_handlers_after_a_rename()
    {
        var json = Path.Combine(_dir, "logging.json");
        var access = Path.Combine(_dir, "access.log");
        File.WriteAllText(json, $$$"""
            {
              "version": 1,
              "root": {"level": "WARNING", "handlers": []},
              "formatters": {"bare": {"format": "%(message)s"}},
              "handlers": {"file": {"class": "logging.FileHandler", "filename": {{{PyString(access)}}}, "formatter": "bare"}},
              "loggers": {"gunicorn.access": {"level": "INFO", "handlers": ["file"], "propagate": false}}
            }
            """);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("-w", "1", "-b", $"127.0.0.1:{port}", "--log-config-json", json, "pyfixtures.metrics_app:app");
        Assert.True(UnicornServer.Poll(() => server.HasExited || UnicornServer.TryGet(port, "/?status=201") == 201, 60) && !server.HasExited,
            "server did not answer:\n" + server.Log);
        Assert.True(UnicornServer.Poll(() => File.Exists(access) && File.ReadAllText(access).Contains("status=201", StringComparison.Ordinal), 10));

        File.Move(access, access + ".1");
        server.Signal(UnicornServer.SIGUSR1);
        // The worker reopens at its next loop turn: lines until then still go to the renamed file.
        Assert.True(UnicornServer.Poll(() =>
        {
            UnicornServer.TryGet(port, "/?status=202");
            return File.Exists(access) && File.ReadAllText(access).Contains("status=202", StringComparison.Ordinal);
        }, 20), "no line in the reopened file:\n" + server.Log);
        Assert.DoesNotContain("status=201", File.ReadAllText(access), StringComparison.Ordinal);
        Assert.Contains("status=201", File.ReadAllText(access + ".1"), StringComparison.Ordinal);
    }

    [Fact]
    public void Logconfig_dict_with_a_custom_python_handler_gets_records_and_access_atoms()
    {
        var records = Path.Combine(_dir, "records.txt");
        var config = Path.Combine(_dir, "conf.py");
        File.WriteAllText(config, $$"""
            # Gunicorn merges this over its defaults key by key, so "handlers" replaces its console handler,
            # which its default root logger names: the root is configured here too.
            logconfig_dict = {
                "root": {"level": "WARNING", "handlers": []},
                "handlers": {
                    "mine": {"class": "pyfixtures.log_handlers.RecordFileHandler", "path": {{PyString(records)}}},
                },
                "loggers": {
                    "gunicorn.error": {"level": "INFO", "handlers": ["mine"], "propagate": False},
                    "gunicorn.access": {"level": "INFO", "handlers": ["mine"], "propagate": False},
                },
            }
            """);
        AssertCustomHandlerRecords(records, "-c", config);
    }

    [Fact]
    public void Logconfig_dict_with_a_formatter_class_defined_in_the_config_file_formats_master_and_worker_records()
    {
        // Gunicorn's Docker guide: a JsonFormatter class in gunicorn.conf.py, given to dictConfig as "()". It stopped
        // the master (the class reached dictConfig as a serialised record), then failed every worker's boot.
        var errorLog = Path.Combine(_dir, "error.log");
        var config = Path.Combine(_dir, "conf.py");
        File.WriteAllText(config, $$$"""
            import json

            class JsonFormatter:
                def format(self, record):
                    return json.dumps({"level": record.levelname, "message": record.getMessage()})

            logconfig_dict = {
                "version": 1,
                "formatters": {"json": {"()": JsonFormatter}},
                "handlers": {
                    "error_console": {"class": "logging.FileHandler", "formatter": "json", "filename": {{{PyString(errorLog)}}}},
                    "console": {"class": "logging.FileHandler", "formatter": "json", "filename": {{{PyString(errorLog)}}}},
                },
                "root": {"handlers": [], "level": "WARNING"},
            }
            """);
        ServeOnceAndStop(config, "pyfixtures.metrics_app:app", "/?status=404", 404);
        var lines = File.ReadAllText(errorLog);
        Assert.Contains("""{"level": "INFO", "message": "Starting unicorn""", lines, StringComparison.Ordinal); // the master
        Assert.Matches("""\{"level": "INFO", "message": "Booting worker with pid: \d+"\}""", lines); // a worker
    }

    [Fact]
    public void An_app_error_reaches_a_json_formatter_with_the_traceback_apart_from_the_message()
    {
        // Gunicorn logs it with log.exception: a JSON formatter's "message" is the one line, the traceback is the
        // record's own (exc_text here, which Formatter.formatException would have made). It was inside the message.
        var errorLog = Path.Combine(_dir, "error.log");
        var config = Path.Combine(_dir, "conf.py");
        File.WriteAllText(config, $$$"""
            import json, logging

            class JsonFormatter(logging.Formatter):
                def format(self, record):
                    super().format(record)
                    return json.dumps({"message": record.getMessage(), "exc": record.exc_text})

            logconfig_dict = {
                "version": 1,
                "formatters": {"json": {"()": JsonFormatter}},
                "handlers": {"file": {"class": "logging.FileHandler", "formatter": "json", "filename": {{{PyString(errorLog)}}}}},
                "root": {"handlers": [], "level": "WARNING"},
                "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["file"], "propagate": False}},
            }
            """);
        ServeOnceAndStop(config, "pyfixtures.bridge_apps:raise_before", "/boom", 500);
        var line = File.ReadAllLines(errorLog).Single(l => l.Contains("Error handling request", StringComparison.Ordinal));
        using var record = System.Text.Json.JsonDocument.Parse(line);
        Assert.Equal("Error handling request GET /boom", record.RootElement.GetProperty("message").GetString());
        var exc = record.RootElement.GetProperty("exc").GetString();
        Assert.StartsWith("Traceback (most recent call last):", exc, StringComparison.Ordinal);
        Assert.EndsWith("ValueError: boom before headers", exc, StringComparison.Ordinal);
    }

    [Fact]
    public void Log_config_json_with_a_custom_python_handler_gets_records_and_access_atoms()
    {
        var records = Path.Combine(_dir, "records.txt");
        var json = Path.Combine(_dir, "logging.json");
        File.WriteAllText(json, $$$"""
            {
              "version": 1,
              "root": {"level": "WARNING", "handlers": []},
              "handlers": {"mine": {"class": "pyfixtures.log_handlers.RecordFileHandler", "path": {{{PyString(records)}}}}},
              "loggers": {
                "gunicorn.error": {"level": "INFO", "handlers": ["mine"], "propagate": false},
                "gunicorn.access": {"level": "INFO", "handlers": ["mine"], "propagate": false}
              }
            }
            """);
        AssertCustomHandlerRecords(records, "--log-config-json", json);
    }

    [Fact]
    public void Capture_output_sends_the_apps_print_and_stderr_to_the_error_log_file()
    {
        var errorLog = Path.Combine(_dir, "error.log");
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("-w", "1", "-b", $"127.0.0.1:{port}", "--error-logfile", errorLog, "--capture-output",
            "pyfixtures.log_handlers:printing_app");
        server.WaitUntilResponding(port, "/");
        Assert.True(UnicornServer.Poll(() => File.ReadAllText(errorLog).Contains("captured stderr from the app", StringComparison.Ordinal), 10));
        var text = File.ReadAllText(errorLog);
        Assert.Contains("captured print from the app\n", text, StringComparison.Ordinal);
        Assert.Contains("[INFO] Booting worker with pid:", text, StringComparison.Ordinal);
        Assert.DoesNotContain("captured", server.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--logger-class", "myapp.logging.JsonLogger", "Error: --logger-class myapp.logging.JsonLogger: ModuleNotFoundError: No module named 'myapp'")]
    [InlineData("--log-config", "/nonexistent/logging.ini", "Error: log config '/nonexistent/logging.ini' not found")]
    public void A_logger_class_that_cannot_be_imported_and_a_missing_log_config_stop_with_one_line(string flag, string value, string message)
    {
        using var server = UnicornServer.Start("-b", $"127.0.0.1:{UnicornServer.FreePort()}", flag, value, "pyfixtures.hello:app");
        Assert.NotEqual(0, server.WaitForExit());
        Assert.Contains(message, server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }

    private static void AssertCustomHandlerRecords(string records, params string[] args)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(["-w", "1", "-b", $"127.0.0.1:{port}", .. args, "pyfixtures.metrics_app:app"]);
        Assert.True(UnicornServer.Poll(() => server.HasExited || UnicornServer.TryGet(port, "/?status=201") == 201, 60) && !server.HasExited,
            "server did not answer:\n" + server.Log);
        Assert.True(UnicornServer.Poll(() => File.Exists(records) && File.ReadAllText(records).Contains("|201\n", StringComparison.Ordinal), 10),
            "no access record:\n" + (File.Exists(records) ? File.ReadAllText(records) : "(no file)") + "\n" + server.Log);
        var lines = File.ReadAllLines(records);
        Assert.Contains(lines, l => l.StartsWith("gunicorn.error|INFO|Starting unicorn ", StringComparison.Ordinal));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^gunicorn\.error\|INFO\|Booting worker with pid: \d+\|$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, """^gunicorn\.access\|INFO\|127\.0\.0\.1 - - \[.+\] "GET /\?status=201 HTTP/1\.0" 201 2 "-" "-"\|201$"""));
    }

    private static string PyString(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    // One worker with the config file, until PATH answers STATUS; then TERM, which must exit 0 (the log files are whole).
    private static void ServeOnceAndStop(string config, string app, string path, int status)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("-w", "1", "-b", $"127.0.0.1:{port}", "-c", config, app);
        Assert.True(UnicornServer.Poll(() => server.HasExited || UnicornServer.TryGet(port, path) == status, 60) && !server.HasExited,
            "server did not answer:\n" + server.Log);
        server.Signal(UnicornServer.SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }
}
