using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>What print() and friends in hooks and apps become when stdout is a pipe (docker logs, journald).</summary>
public class StandardStreamsTests
{
    private const string App = "pyfixtures.arbiter_app:app";

    [Fact]
    public void PrintsOfMasterHooksReachAPipedStdoutWithoutPythonUnbuffered()
    {
        // stdout is a pipe, so Python buffers it; the master must flush at exit as Python's own exit does.
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-stdio-");
        var conf = Path.Combine(dir.FullName, "hooks.py");
        File.WriteAllText(conf, """
            def on_starting(server):
                print("on_starting printed")
            def when_ready(server):
                print("when_ready printed")
            def on_exit(server):
                print("on_exit printed")
            """);
        using var server = Start(new Dictionary<string, string> { ["PYTHONUNBUFFERED"] = "" },
            "-c", conf, "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        Assert.True(Poll(() => server.Count("on_exit printed") == 1, 5), server.Log);
        Assert.Equal(1, server.Count("on_starting printed"));
        Assert.Equal(1, server.Count("when_ready printed"));
        dir.Delete(recursive: true);
    }

    [Fact]
    public void ANonDaemonThreadAMasterHookStartedDoesNotHangTheStop()
    {
        // Gunicorn's master waits for it forever after "Shutting down: Master" (Python's exit joins it).
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-stdio-");
        var conf = Path.Combine(dir.FullName, "hooks.py");
        File.WriteAllText(conf, """
            import atexit, threading, time
            def when_ready(server):
                threading.Thread(target=time.sleep, args=(3600,)).start()
                atexit.register(print, "atexit ran")
            """);
        using var server = Start("-c", conf, "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(20));
        Assert.True(Poll(() => server.Count("atexit ran") == 1, 5), server.Log);
        dir.Delete(recursive: true);
    }
}
