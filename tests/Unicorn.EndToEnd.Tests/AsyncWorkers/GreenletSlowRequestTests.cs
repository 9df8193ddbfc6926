using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.AsyncWorkers;

/// <summary>
/// max_request_time under -k gevent and -k eventlet: a greenlet running past it is logged once with its own stack
/// (not the hub thread's, which is idle in the loop), the other greenlets go on, and max_request_time_action applies.
/// </summary>
public sealed class GreenletSlowRequestTests
{
    [Theory]
    [InlineData("gevent", "log")]
    [InlineData("eventlet", "log")]
    [InlineData("gevent", "recycle")]
    public async Task A_slow_greenlet_is_logged_with_its_own_stack(string workerClass, string action)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.greenlet_apps:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass,
            "--no-control-socket", "--max-request-time", "1", "--max-request-time-action", action);
        server.WaitUntilServing(port, 120);
        var before = server.Workers().Single();

        var slow = Task.Run(() => UnicornServer.Get(port, "/sleep?5", 60));
        server.WaitForLog("Request GET /sleep?5 has run ", 1, 60);
        // The hub is not blocked: another request is served while the slow one sleeps.
        if (action == "log")
        {
            Assert.Equal((200, "hello\n"), UnicornServer.Get(port, "/", 30));
        }

        Assert.Equal((200, "slept\n"), await slow);

        var log = server.Log;
        var report = log[log.IndexOf("Request GET /sleep?5 has run ", StringComparison.Ordinal)..];
        Assert.Contains($"over max_request_time (1 s) (pid:{before}); the stack of the greenlet serving it:", report, StringComparison.Ordinal);
        var lines = report.Split('\n');
        Assert.Matches(@"^Greenlet of request \d+ \(\w+ at 0x[0-9a-f]+\) \(most recent call last\):$", lines[1]);
        // Its frames down to the app's sleep, before any other block.
        var block = string.Join('\n', lines.Skip(1).TakeWhile(l => l.Length > 0));
        Assert.Matches(@"greenlet_apps\.py"", line \d+, in app", block);
        Assert.Contains("time.sleep(seconds)", block, StringComparison.Ordinal);
        Assert.Equal(1, server.Count("has run "));

        if (action == "recycle")
        {
            server.WaitForLog($"Recycling worker (pid:{before}) after a request past max_request_time");
            Assert.True(UnicornServer.Poll(() => server.Workers() is [var pid] && pid != before && UnicornServer.TryGet(port, "/") == 200, 120), server.Log);
        }
        else
        {
            Assert.Equal([before], server.Workers());
        }

        server.Signal(UnicornServer.SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }
}
