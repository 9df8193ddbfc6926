using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>
/// max_request_time: a request running past it is logged with the Python stack of the thread serving it
/// (Gunicorn #1801, #3136), and the worker is replaced only when max_request_time_action says so.
/// </summary>
public class SlowRequestTests
{
    [Theory]
    [InlineData("sync", "log")]
    [InlineData("gthread", "log")]
    [InlineData("gthread", "recycle")]
    public async Task ASlowRequestIsLoggedWithItsThreadsStack(string workerClass, string action)
    {
        var port = FreePort();
        var metricsPort = FreePort();
        using var server = Start("-w", "1", "-k", workerClass, "--threads", workerClass == "sync" ? "1" : "4", "--no-control-socket",
            "--max-request-time", "1", "--max-request-time-action", action, "--metrics-bind", $"127.0.0.1:{metricsPort}",
            "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        var before = Get(port, "/pid").Body;

        var slow = Task.Run(() => Get(port, "/sleep?s=4", 60));
        server.WaitForLog("Request GET /sleep?s=4 has run ", 1, 60);
        Assert.Equal((200, "slept"), await slow);

        var log = server.Log;
        var at = log.IndexOf("Request GET /sleep?s=4 has run ", StringComparison.Ordinal);
        var report = log[at..];
        Assert.Contains($"over max_request_time (1 s) (pid:{before}); the stack of the thread serving it:", report, StringComparison.Ordinal);
        // The serving thread's block only: its frame in the app, and no second thread's header.
        var lines = report.Split('\n');
        Assert.Matches(@"^(Current thread|Thread) 0x[0-9a-f]{16} \(most recent call first\):$", lines[1]);
        var sleepLine = Array.FindIndex(File.ReadAllLines(Path.Combine(RepoRoot, "pyfixtures", "arbiter_app.py")), l => l.Trim() == "time.sleep(seconds)") + 1;
        Assert.Contains($"arbiter_app.py\", line {sleepLine} in app", lines[2], StringComparison.Ordinal);
        Assert.Equal(1, server.Count("has run "));

        if (action == "log")
        {
            Assert.Equal(before, Get(port, "/pid").Body);
            Assert.DoesNotContain("Recycling worker", log, StringComparison.Ordinal);
        }
        else
        {
            server.WaitForLog($"Recycling worker (pid:{before}) after a request past max_request_time");
            Assert.True(Poll(() => TryGet(port, "/") == 200 && Get(port, "/pid").Body != before, 120), server.Log);
            // Counted under its own cause, not as a max_requests retirement.
            Assert.True(Poll(() => Get(metricsPort, "/metrics").Body.Contains("unicorn_worker_restarts_total{cause=\"max_request_time\"} 1", StringComparison.Ordinal), 30),
                Get(metricsPort, "/metrics").Body);
            Assert.DoesNotContain("cause=\"max_requests\"", Get(metricsPort, "/metrics").Body, StringComparison.Ordinal);
        }

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }
}
