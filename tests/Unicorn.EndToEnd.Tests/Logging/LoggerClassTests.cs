using System.Diagnostics;
using Unicorn.EndToEnd.Tests.Arbiter;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// A config's own <c>logger_class</c>, a subclass of Gunicorn's <c>glogging.Logger</c> as the usual recipes write it:
/// every record goes through it, in the master and the workers. With Gunicorn installed the subclass is of Gunicorn's
/// class; without it, <c>gunicorn.glogging</c> is Unicorn's.
/// </summary>
public sealed class LoggerClassTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-loggerclass-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_health_check_recipe_that_adds_a_filter_in_setup_keeps_health_checks_out_of_the_access_log()
    {
        var config = Write("health.py", """
            import logging
            from gunicorn import glogging


            class HealthCheckFilter(logging.Filter):
                def filter(self, record):
                    return "GET /health" not in record.getMessage()


            class CustomGunicornLogger(glogging.Logger):
                def setup(self, cfg):
                    super().setup(cfg)
                    logger = logging.getLogger("gunicorn.access")
                    logger.addFilter(HealthCheckFilter())


            accesslog = "-"
            logger_class = CustomGunicornLogger
            """);
        var log = Serve(null, "-c", config, "-w", "1");
        Assert.DoesNotContain("/health", log, StringComparison.Ordinal);
        Assert.Contains("\"GET /ready?x=1 HTTP/1.1\" 200 14 \"-\" \"probe\"", log, StringComparison.Ordinal);
        Assert.Contains("[INFO] Booting worker with pid:", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_gunicorn_installed_a_subclass_of_unicorns_glogging_overrides_formats_atoms_and_access()
    {
        var venv = Path.Combine(_dir, "venv");
        using (var make = Process.Start("/usr/bin/python3", ["-m", "venv", "--without-pip", venv])!)
        {
            make.WaitForExit();
            Assert.Equal(0, make.ExitCode);
        }

        var config = Write("json.py", """
            import json
            from gunicorn import glogging


            class JsonLogger(glogging.Logger):
                error_fmt = "%(levelname)s|%(message)s"

                def atoms(self, resp, req, environ, request_time):
                    atoms = super().atoms(resp, req, environ, request_time)
                    atoms["x"] = "extra"
                    return atoms

                def access(self, resp, req, environ, request_time):
                    if req.path == "/health":
                        return
                    self.access_log.info(json.dumps({"path": req.path, "query": req.query, "status": resp.status_code,
                                                     "ua": environ["HTTP_USER_AGENT"], "version": list(req.version)}))
                    super().access(resp, req, environ, request_time)


            accesslog = "-"
            access_log_format = '%(h)s "%(r)s" %(s)s %(x)s %({User-Agent}i)s %(b)s %(missing)s'
            logger_class = JsonLogger
            """);
        var log = Serve(new Dictionary<string, string> { ["UNICORN_PYTHON"] = Path.Combine(venv, "bin", "python") }, "-c", config, "-w", "1");
        var lines = log.Split('\n');
        Assert.Contains("INFO|Starting unicorn", log, StringComparison.Ordinal); // the master's records too
        Assert.Contains(lines, l => l.StartsWith("INFO|Booting worker with pid: ", StringComparison.Ordinal));
        Assert.Contains("""{"path": "/ready", "query": "x=1", "status": 200, "ua": "probe", "version": [1, 1]}""", lines);
        Assert.Contains("""127.0.0.1 "GET /ready?x=1 HTTP/1.1" 200 extra probe 14 -""", lines);
        Assert.DoesNotContain("/health", log, StringComparison.Ordinal);
        // The first request (WaitUntilServing's) has no User-Agent, so this access() raised: logged as Gunicorn logs a
        // failed request, and the next requests were logged.
        Assert.Contains(lines, l => l.StartsWith("ERROR|Error handling request /", StringComparison.Ordinal));
        Assert.Contains("KeyError: 'HTTP_USER_AGENT'", lines);
    }

    [Fact]
    public void A_logger_class_with_a_json_formatter_gets_a_failed_requests_traceback_beside_its_message()
    {
        // Gunicorn logs an app's exception with the class's exception(): one line of message, the traceback as the
        // record's exception, which a JSON formatter puts in a field of its own (it was inside the message).
        var config = Write("jsonerr.py", """
            import json
            import logging
            from gunicorn import glogging


            class JsonFormatter(logging.Formatter):
                def format(self, record):
                    return json.dumps({"level": record.levelname, "message": record.getMessage(),
                                       "exc": (record.exc_text or "").splitlines()[-1:]})


            class JsonLogger(glogging.Logger):
                def setup(self, cfg):
                    super().setup(cfg)
                    for handler in self.error_log.handlers:
                        handler.setFormatter(JsonFormatter())


            logger_class = JsonLogger
            """);
        var port = FreePort();
        using var server = Start("-c", config, "-w", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.bridge_apps:raise_before");
        server.WaitForLog("Booting worker with pid");
        Assert.True(Poll(() => Get(port, "/").Status == 500, 30), server.Log);
        server.WaitForLog("Error handling request");
        Assert.Contains("""{"level": "ERROR", "message": "Error handling request GET /", "exc": ["ValueError: boom before headers"]}""", server.Lines);
    }

    [Theory]
    [InlineData("sync", "pyfixtures.bridge_apps:raise_before", "/", "ValueError('boom before headers')", "Error handling request %s %s", "('GET', '/')")]
    [InlineData("gthread", "pyfixtures.bridge_apps:raise_before", "/", "ValueError('boom before headers')", "Error handling request %s %s", "('GET', '/')")]
    [InlineData("gevent", "pyfixtures.bridge_apps:raise_before", "/", "ValueError('boom before headers')", "Error handling request %s %s", "('GET', '/')")]
    [InlineData("asgi", "pyfixtures.asgi.raw:misuse", "/raise", "ValueError('app raised on purpose')", "Error in ASGI application", "()")]
    public void A_logger_class_overriding_exception_is_called_while_the_apps_exception_is_live(
        string worker, string app, string path, string value, string format, string args)
    {
        // The error-tracker recipe: Gunicorn calls exception() in its except block, so sys.exc_info() and exc_info=True
        // see the app's exception (and the message keeps its %s arguments apart).
        var config = Write("capture.py", """
            import sys
            import traceback
            from gunicorn import glogging


            class CapturingLogger(glogging.Logger):
                def exception(self, msg, *args, **kwargs):
                    kind, value, tb = sys.exc_info()
                    self.error_log.error("CAPTURED %r %r %r tb=%s last=%s", msg, args, value, tb is not None,
                                         traceback.format_exc().splitlines()[-1])
                    self.error_log.error(msg, *args, exc_info=True)


            logger_class = CapturingLogger
            """);
        var port = FreePort();
        using var server = Start("-c", config, "-w", "1", "-k", worker, "--threads", "2", "-b", $"127.0.0.1:{port}", app);
        server.WaitForLog("Booting worker with pid");
        Assert.True(Poll(() => Get(port, path).Status == 500, 30), server.Log);
        server.WaitForLog("CAPTURED");
        var last = value.Replace("('", ": ", StringComparison.Ordinal).TrimEnd(')', '\'');
        Assert.Contains($"[ERROR] CAPTURED '{format}' {args} {value} tb=True last={last}", server.Log, StringComparison.Ordinal);
        // The record it logs with exc_info=True has the message once and the app's traceback after it.
        server.WaitForLog(last);
        Assert.DoesNotContain("NoneType: None", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_logger_class_whose_setup_raises_stops_the_master_with_one_line()
    {
        var config = Write("broken.py", """
            from gunicorn import glogging


            class Broken(glogging.Logger):
                def setup(self, cfg):
                    raise ValueError("no log for you")


            logger_class = Broken
            """);
        using var server = Start("-c", config, "-b", $"127.0.0.1:{FreePort()}", "pyfixtures.hello:app");
        Assert.NotEqual(0, server.WaitForExit());
        Assert.Contains("Error: --logger-class __config__.Broken: ValueError: no log for you", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text + "\n");
        return path;
    }

    // Serves / (no User-Agent), then /health and /ready?x=1 (User-Agent: probe) with the hello app, stops, and returns
    // the whole log.
    private static string Serve(IDictionary<string, string>? env, params string[] args)
    {
        var port = FreePort();
        using var server = Start(env, [.. args, "-b", $"127.0.0.1:{port}", "pyfixtures.hello:app"]);
        server.WaitUntilServing(port);
        foreach (var path in new[] { "/health", "/ready?x=1" })
        {
            using var client = new System.Net.Sockets.TcpClient("127.0.0.1", port);
            using var stream = client.GetStream();
            stream.Write(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: probe\r\nConnection: close\r\n\r\n"));
            using var reader = new StreamReader(stream);
            Assert.StartsWith("HTTP/1.1 200", reader.ReadToEnd(), StringComparison.Ordinal);
        }

        server.WaitForLog("/ready?x=1");
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        return server.Log;
    }
}
