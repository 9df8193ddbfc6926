using System.Text.RegularExpressions;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// What a config file or an app does to Python's <c>gunicorn.access</c> logger shapes the access log as under Gunicorn,
/// with no Python log config: the recipes that keep health checks out of it (a filter through <c>worker.log.access_log</c>
/// or on the logger), <c>disabled</c>, a formatter on Gunicorn's handler, and a line the app logs there itself.
/// Compared with Debian's Gunicorn on the same config, after masking the time.
/// </summary>
public sealed partial class AccessLoggerTests
{
    private const string NoHealth = """
        import logging


        class NoHealth(logging.Filter):
            def filter(self, record):
                return "GET /health" not in record.getMessage()


        """;

    private static List<string> Run(string executable, string config)
    {
        var directory = Directory.CreateTempSubdirectory("unicorn-accesslogger-").FullName;
        try
        {
            var configPath = Path.Combine(directory, "conf.py");
            var logPath = Path.Combine(directory, "access.log");
            File.WriteAllText(configPath, config);
            using (var server = ServerProcess.Start(executable, ["-c", configPath, "--workers", "1", "--access-logfile", logPath, "pyfixtures.access_logger_app:app"], TimeSpan.FromSeconds(60)))
            {
                foreach (var path in new[] { "/health", "/ok", "/acc?x=1" })
                {
                    server.Send(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nConnection: close\r\n\r\n"));
                }

                Thread.Sleep(500); // the access log's batch
                server.Stop();
            }

            // The app's own line is written as it logs it, Unicorn's access lines in batches a few ms later: sorted.
            return [.. File.ReadAllLines(logPath).Select(l => Time().Replace(l, "[TIME]")).Order(StringComparer.Ordinal)];
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [GeneratedRegex(@"\[\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]")]
    private static partial Regex Time();

    [Theory]
    [InlineData("def post_worker_init(worker):\n    worker.log.access_log.addFilter(NoHealth())\n", 3)]
    [InlineData("def post_fork(server, worker):\n    logging.getLogger('gunicorn.access').addFilter(NoHealth())\n", 3)]
    [InlineData("def post_fork(server, worker):\n    logging.getLogger('gunicorn.access').disabled = True\n", 0)]
    [InlineData("def post_worker_init(worker):\n    worker.log.access_log.handlers[0].setFormatter(logging.Formatter('ACCESS %(message)s'))\n", 4)]
    [InlineData("", 4)]
    public void The_access_logger_as_the_config_leaves_it_writes_gunicorns_lines(string hooks, int lines)
    {
        var config = NoHealth + hooks;
        var gunicorn = Run("/usr/bin/gunicorn", config);
        var unicorn = Run(Path.Combine(ServerProcess.RepoRoot(), "unicorn"), config);

        Assert.Equal(lines, gunicorn.Count);
        Assert.Equal(gunicorn, unicorn);
    }
}
