using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>What Gunicorn writes at <c>--log-level debug</c> and not above: the configuration, the arbiter's boot and each request.</summary>
public class DebugLogTests
{
    private const string App = "pyfixtures.arbiter_app:app";

    [Fact]
    public void At_debug_the_master_dumps_its_configuration_and_each_request_is_logged_with_its_method_and_path()
    {
        var port = FreePort();
        using var server = Start("-w", "1", "--log-level", "debug", "--timeout", "17", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        Assert.Equal(200, Get(port, "/pid?x=1").Status);
        server.WaitForLog("[DEBUG] GET /pid");

        var lines = server.Log.Split('\n');
        var dump = Array.FindIndex(lines, l => l.EndsWith("[DEBUG] Current configuration:", StringComparison.Ordinal));
        Assert.True(dump >= 0, server.Log);
        // Every setting follows, indented, in Gunicorn's declaration order, before "Starting".
        Assert.Equal("  config: ./gunicorn.conf.py", lines[dump + 1]);
        Assert.Equal("  wsgi_app: None", lines[dump + 2]);
        Assert.Equal($"  bind: ['127.0.0.1:{port}']", lines[dump + 3]);
        Assert.Contains("  timeout: 17", lines);
        var starting = Array.FindIndex(lines, l => l.Contains("[INFO] Starting unicorn", StringComparison.Ordinal));
        Assert.True(starting > dump + 100, server.Log);
        Assert.Contains("[DEBUG] Arbiter booted", lines[starting + 1], StringComparison.Ordinal);
        Assert.Contains("[INFO] Listening at:", lines[starting + 2], StringComparison.Ordinal);
        // The query string is not part of it, as in Gunicorn's default pre_request.
        Assert.DoesNotContain(lines, l => l.Contains("GET /pid?x=1", StringComparison.Ordinal));

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void A_log_config_that_puts_gunicorn_error_at_debug_gets_each_request_line_under_log_level_info()
    {
        // Gunicorn's default pre_request always logs at debug, and its logger's level decides: a log config's DEBUG on
        // gunicorn.error writes it though --log-level is info. Unicorn left the hook out below --log-level debug.
        var dir = Directory.CreateTempSubdirectory("unicorn-debuglog-").FullName;
        try
        {
            var json = Path.Combine(dir, "logging.json");
            File.WriteAllText(json, """
                {"version": 1, "disable_existing_loggers": false,
                 "formatters": {"f": {"format": "%(levelname)s|%(name)s|%(message)s"}},
                 "handlers": {"h": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "f"}},
                 "root": {"level": "INFO", "handlers": ["h"]},
                 "loggers": {"gunicorn.error": {"level": "DEBUG", "handlers": [], "propagate": true}}}
                """);
            var port = FreePort();
            using var server = Start("-w", "1", "--log-config-json", json, "-b", $"127.0.0.1:{port}", App);
            server.WaitUntilServing(port);
            Assert.Equal(200, Get(port, "/pid").Status);
            server.WaitForLog("DEBUG|gunicorn.error|GET /pid");
            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Above_debug_none_of_it_is_written_and_a_config_files_own_pre_request_replaces_the_request_line()
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-debuglog");
        try
        {
            var config = Path.Combine(dir.FullName, "conf.py");
            File.WriteAllText(config, "def pre_request(worker, req):\n    worker.log.debug('mine %s', req.path)\n");
            var port = FreePort();
            using var server = Start("-w", "1", "--log-level", "debug", "-c", config, "-b", $"127.0.0.1:{port}", App);
            server.WaitUntilServing(port);
            Assert.Equal(200, Get(port, "/pid").Status);
            server.WaitForLog("[DEBUG] mine /pid");
            Assert.Equal(0, server.Count("[DEBUG] GET /pid"));
            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit());

            port = FreePort();
            using var quiet = Start("-w", "1", "-b", $"127.0.0.1:{port}", App);
            quiet.WaitUntilServing(port);
            Assert.Equal(200, Get(port, "/pid").Status);
            quiet.Signal(SIGTERM);
            Assert.Equal(0, quiet.WaitForExit());
            Assert.Equal(0, quiet.Count("Current configuration"));
            Assert.Equal(0, quiet.Count("Arbiter booted"));
            Assert.Equal(0, quiet.Count("GET /pid"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
