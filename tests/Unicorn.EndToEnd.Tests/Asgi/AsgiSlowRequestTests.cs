using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>
/// max_request_time under -k asgi: every request shares the loop's thread, so a request past the limit is logged
/// with its task's stack (the awaits it is suspended in, or the loop thread's frames while it holds the loop), and
/// the worker is replaced only when max_request_time_action says so.
/// </summary>
public sealed class AsgiSlowRequestTests
{
    [Fact]
    public async Task A_slow_task_is_logged_with_its_await_chain_and_a_blocking_one_with_the_loop_threads_frames()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-w", "1",
            "--max-request-time", "1", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");
        var worker = server.Workers().Single();

        // Suspended in asyncio.sleep: the report is the chain of awaits, innermost first.
        var slow = Task.Run(() => UnicornServer.Get(port, "/sleep?4", 60));
        server.WaitForLog("Request GET /sleep?4 has run ", 1, 60);
        Assert.Equal((200, "ok"), await slow);
        var suspended = Report(server.Log, "Request GET /sleep?4 has run ");
        Assert.Contains($"over max_request_time (1 s) (pid:{worker}); the stack of the task serving it:", suspended[0], StringComparison.Ordinal);
        Assert.Matches(@"^Task \S+, suspended \(most recent call first\):$", suspended[1]);
        Assert.Matches(@"^  File "".*/asyncio/tasks\.py"", line \d+ in sleep$", suspended[2]);
        Assert.Matches(@"^  File "".*/raw\.py"", line \d+ in _slow_part$", suspended[3]);
        Assert.Matches(@"^  File "".*/raw\.py"", line \d+ in misuse$", suspended[4]);

        // Holding the loop in time.sleep: the task is running, and the loop thread's frames show where.
        var blocking = Task.Run(() => UnicornServer.Get(port, "/block-for?4", 60));
        server.WaitForLog("Request GET /block-for?4 has run ", 1, 60);
        Assert.Equal((200, "ok"), await blocking);
        var running = Report(server.Log, "Request GET /block-for?4 has run ");
        Assert.Matches(@"^Task \S+, running on the loop thread \(most recent call first\):$", running[1]);
        Assert.EndsWith(" in misuse", running[2], StringComparison.Ordinal);

        // Each request is reported once, and under the default action the worker serves on.
        Assert.Equal(2, server.Count("has run "));
        Assert.Equal([worker], server.Workers());
        Assert.DoesNotContain("Recycling worker", server.Log, StringComparison.Ordinal);
        Assert.Equal(200, UnicornServer.Get(port, "/").Status);
    }

    [Fact]
    public async Task Under_recycle_the_worker_is_replaced_and_the_slow_request_still_finishes()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-w", "1",
            "--max-request-time", "1", "--max-request-time-action", "recycle", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");
        var before = server.Workers().Single();

        var slow = Task.Run(() => UnicornServer.Get(port, "/sleep?4", 60));
        server.WaitForLog($"Recycling worker (pid:{before}) after a request past max_request_time", 1, 60);
        Assert.Equal((200, "ok"), await slow);
        Assert.True(UnicornServer.Poll(() => server.Workers() is [var w] && w != before, 120), server.Log);
        Assert.Equal(200, UnicornServer.Get(port, "/").Status);
    }

    private static string[] Report(string log, string start) => log[log.IndexOf(start, StringComparison.Ordinal)..].Split('\n');
}
