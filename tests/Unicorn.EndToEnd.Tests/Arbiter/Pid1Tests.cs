using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>
/// The server as PID 1 of a PID namespace, as a container without an init runs it (`docker run` without
/// `--init`, a Kubernetes pod): .NET reaps every child of a PID-1 process on SIGCHLD, so without care the
/// master never learns how its workers ended.
/// </summary>
public class Pid1Tests
{
    private const string App = "pyfixtures.arbiter_app:app";

    private static UnicornServer StartAsPid1(params string[] args)
    {
        EnsureBuilt();
        return StartProgram("/usr/bin/unshare", RepoRoot, new Dictionary<string, string?>(),
            ["--pid", "--fork", "--mount-proc", "--kill-child", Path.Combine(RepoRoot, "unicorn"), .. args]);
    }

    /// <summary>The process that is PID 1 inside the namespace (what `docker stop` signals).</summary>
    private static int Pid1Of(UnicornServer unshare)
    {
        int pid = 0;
        Assert.True(Poll(() => (pid = ChildrenOf(unshare.Pid).FirstOrDefault()) != 0, 30), "no process under unshare");
        return pid;
    }

    private static List<int> WorkersUnder(int pid)
    {
        var workers = new List<int>();
        foreach (var child in ChildrenOf(pid))
        {
            workers.AddRange(WorkersOf(pid).Where(w => w == child));

            workers.AddRange(WorkersUnder(child));
        }

        return workers;
    }

    [Theory]
    [InlineData("pyfixtures.arbiter_app:no_such_app", 4, "Reason: App failed to load.")]
    [InlineData("pyfixtures.arbiter_boot_error:app", 3, "Reason: Worker failed to boot.")]
    public void AsPid1ABootFailureHaltsTheMasterWithGunicornsStatus(string app, int status, string reason)
    {
        var port = FreePort();
        using var server = StartAsPid1("-w", "2", "-b", $"127.0.0.1:{port}", "--no-control-socket", app);

        Assert.Equal(status, server.WaitForExit(60));
        Assert.Contains(reason, server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void AsPid1AWorkerKilledBySigkillIsLoggedAndReplacedAndTermStopsCleanly()
    {
        var port = FreePort();
        using var server = StartAsPid1("-w", "1", "-b", $"127.0.0.1:{port}", "--no-control-socket", App);
        server.WaitUntilServing(port);
        var pid1 = Pid1Of(server);
        List<int> workers = [];
        Assert.True(Poll(() => (workers = WorkersUnder(pid1)).Count == 1, 30), server.Log);

        Signal(workers[0], SIGKILL);
        server.WaitForLog("was sent SIGKILL! Perhaps out of memory?");
        Assert.True(Poll(() => WorkersUnder(pid1) is [var w] && w != workers[0], 30), server.Log);
        Assert.Equal(200, TryGet(port, "/"));

        Signal(pid1, SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.Contains("Shutting down: Master", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("did not exit when its channel closed", server.Log, StringComparison.Ordinal);
    }

    /// <summary>Socket activation into a container (podman's, or systemd-socket-activate as PID 1): LISTEN_PID is 1.</summary>
    [Fact]
    public void AsPid1SocketsPassedToPid1AreServedByTheMaster()
    {
        EnsureBuilt();
        var port = FreePort();
        using var server = StartProgram("/usr/bin/unshare", RepoRoot, new Dictionary<string, string?>(),
            ["--pid", "--fork", "--mount-proc", "--kill-child", "/usr/bin/systemd-socket-activate", "-l", $"127.0.0.1:{port}",
             "-E", "UNICORN_PYTHON", Path.Combine(RepoRoot, "unicorn"), "-w", "1", "--no-control-socket", App]);

        // systemd-socket-activate execs the program on the first connection, which waits in the backlog meanwhile.
        Assert.True(Poll(() => TryGet(port, "/") == 200, 60), server.Log);
        Assert.Contains($"Listening at: http://127.0.0.1:{port}", server.Log, StringComparison.Ordinal);

        Signal(Pid1Of(server), SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }
}
