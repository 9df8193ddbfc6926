namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// Python code logging through Gunicorn's loggers reaches the error log as under Gunicorn, when it logs: an app
/// borrowing <c>gunicorn.error</c>'s handlers (Flask's recipe, also with the app preloaded before the fork), and a
/// hook's thread logging through <c>server.log</c>/<c>worker.log</c> after the hook returned. Compared with Debian's
/// Gunicorn on the same fixtures, after masking time and pids.
/// </summary>
public sealed class AppLoggerTests
{
    private static List<string> Run(string executable, params string[] arguments)
    {
        var logPath = Path.Combine(Path.GetTempPath(), $"unicorn-applog-{Guid.NewGuid():N}.log");
        try
        {
            using (var server = ServerProcess.Start(executable, ["--workers", "1", "--error-logfile", logPath, .. arguments], TimeSpan.FromSeconds(60)))
            {
                server.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
                Thread.Sleep(1500); // the hook threads' last ticks
                server.Stop();
            }

            return ErrorLogComparisonTests.Masked(File.ReadAllLines(logPath).SelectMany(Traceback));
        }
        finally
        {
            File.Delete(logPath);
        }
    }

    // A traceback's lines carry no prefix; keep its last line, prefixed, so the comparison sees it.
    private static IEnumerable<string> Traceback(string line) =>
        line.StartsWith("ZeroDivisionError", StringComparison.Ordinal) ? ["[2000-01-01 00:00:00 +0000] [0] [ERROR] " + line] : [line];

    private static List<string> AppLines(List<string> lines) =>
        [.. lines.Where(l => l.Contains(" app ", StringComparison.Ordinal) || l.Contains("ZeroDivisionError", StringComparison.Ordinal))];

    [Theory]
    [InlineData("--log-level", "info")]
    [InlineData("--log-level", "debug")]
    [InlineData("--preload", "--log-level=info")]
    public void An_app_that_borrows_gunicorn_errors_handlers_logs_as_under_gunicorn(string option, string more)
    {
        string[] args = [option, more, "pyfixtures.flask_gunicorn_logger:app"];
        var gunicorn = AppLines(Run("/usr/bin/gunicorn", args));
        var unicorn = AppLines(Run(Path.Combine(ServerProcess.RepoRoot(), "unicorn"), args));

        Assert.Contains("[TIME] [PID] [INFO] app info line", gunicorn);
        Assert.Equal(gunicorn, unicorn);
    }

    [Fact]
    public void A_hooks_thread_logs_when_it_logs_not_at_the_next_hook()
    {
        string[] args = ["-c", "pyfixtures/hook_thread_log_conf.py", "pyfixtures.hello:app"];
        var gunicorn = Run("/usr/bin/gunicorn", args).Where(l => l.Contains("thread tick", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        var unicorn = Run(Path.Combine(ServerProcess.RepoRoot(), "unicorn"), args).Where(l => l.Contains("thread tick", StringComparison.Ordinal)).Order(StringComparer.Ordinal);

        Assert.Equal(7, gunicorn.Count()); // and one through the gunicorn.error logger, from when_ready
        Assert.Equal(gunicorn, unicorn);
    }
}
