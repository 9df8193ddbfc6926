using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>
/// <c>loop.add_signal_handler</c> on the worker's loop, which is not on the main thread (asyncio refuses it there):
/// a SIGTERM callback added in lifespan startup runs on the loop as the graceful stop begins, as under Gunicorn 26.1's
/// asgi worker, whose loop is on the main thread; other signals are recorded or ignored as <c>signal.signal</c>'s are.
/// </summary>
public sealed class AsgiSignalHandlerTests
{
    private const int SigTerm = 15;

    [Fact]
    public void A_sigterm_callback_added_in_lifespan_startup_runs_on_the_loop_at_graceful_stop()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("signal_app:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-w", "1",
            "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        // The startup went on past add_signal_handler (it raised RuntimeError, and the app was served without lifespan).
        var (status, body) = UnicornServer.Get(port, "/");
        Assert.Equal(200, status);
        Assert.Equal("done removed=True,False coroutine=TypeError", body);
        server.WaitForLog("loop.add_signal_handler(SIGALRM, <function _say");
        Assert.Contains(server.Lines, l => l.Contains("[WARNING] loop.add_signal_handler(SIGUSR1", StringComparison.Ordinal));

        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
        server.WaitForLog("app: SIGTERM callback, on the loop: True");
        server.WaitForLog("app: lifespan shutdown");
        // The callback ran before the loop stopped: before lifespan shutdown, and once.
        var lines = server.Lines.ToList();
        Assert.True(lines.FindIndex(l => l.Contains("app: SIGTERM callback", StringComparison.Ordinal)) <
            lines.FindIndex(l => l.Contains("app: lifespan shutdown", StringComparison.Ordinal)), server.Log);
        Assert.Equal(1, server.Count("app: SIGTERM callback"));
        Assert.DoesNotContain("app: SIGUSR1 callback", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("Traceback", server.Log, StringComparison.Ordinal);
    }
}
