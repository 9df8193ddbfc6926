using System.Net;
using System.Net.Sockets;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>Sockets, pidfile, boot failures and bad input, as the master handles them.</summary>
public class MasterLifecycleTests
{
    private const string App = "pyfixtures.arbiter_app:app";
    private const string OwnGroup = "import os, sys; os.setsid(); os.execv(sys.argv[1], sys.argv[1:])";

    [Fact]
    public void AUnixSocketAndTwoTcpBindsServeTogetherAndTheSocketFileIsRemovedAtExit()
    {
        var (a, b) = (FreePort(), FreePort());
        var dir = Directory.CreateTempSubdirectory("unicorn-bind-");
        var sock = Path.Combine(dir.FullName, "app.sock");
        using var server = Start("-w", "2", "-b", "unix:" + sock, "-b", $"127.0.0.1:{a}", "-b", $"127.0.0.1:{b}", App);
        server.WaitUntilServing(a);
        server.WaitForWorkers(2);

        Assert.Equal((200, "ok"), Get(new UnixDomainSocketEndPoint(sock), "/"));
        Assert.Equal((200, "ok"), Get(a, "/"));
        Assert.Equal((200, "ok"), Get(b, "/"));
        server.WaitForLog($"Listening at: unix:{sock},http://127.0.0.1:{a},http://127.0.0.1:{b}");

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        Assert.False(File.Exists(sock));
        dir.Delete(recursive: true);
    }

    [Fact]
    public void PidfileHoldsTheMasterPidWhileRunningAndIsRemovedAtExit()
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-pid-");
        var pidfile = Path.Combine(dir.FullName, "app.pid");
        using var server = Start("-p", pidfile, "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);

        Assert.Equal($"{server.Pid}\n", File.ReadAllText(pidfile));
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        Assert.False(File.Exists(pidfile));
        Assert.Empty(dir.GetFileSystemInfos());
        dir.Delete();
    }

    [Theory]
    [InlineData("pyfixtures.arbiter_app:no_such_app", 4, "Reason: App failed to load.")]
    [InlineData("pyfixtures.arbiter_boot_error:app", 3, "Reason: Worker failed to boot.")]
    public void ABootFailureHaltsTheMasterWithGunicornsStatus(string app, int status, string reason)
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-boot-");
        var pidfile = Path.Combine(dir.FullName, "app.pid");
        using var server = Start("-w", "2", "-p", pidfile, "-b", $"127.0.0.1:{port}", app);

        Assert.Equal(status, server.WaitForExit(60));
        Assert.Contains(reason, server.Log, StringComparison.Ordinal);
        Assert.Contains($"exited with code {status}", server.Log, StringComparison.Ordinal);
        Assert.True(server.Count("Booting worker with pid:") <= 2, "the master must not respawn failing workers:\n" + server.Log);
        Assert.False(File.Exists(pidfile));
        dir.Delete(recursive: true);
    }

    [Fact]
    public void TermOfTheMasterExitsZeroAndQuitIsFast()
    {
        var port = FreePort();
        using var server = Start("-w", "2", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(2);
        var workers = server.Workers();
        server.Signal(SIGQUIT);
        Assert.Equal(0, server.WaitForExit(10));
        Assert.All(workers, w => Assert.False(Directory.Exists($"/proc/{w}") && File.ReadAllText($"/proc/{w}/stat").Contains(") S", StringComparison.Ordinal)));
    }

    public static TheoryData<string[], string> BadInput => new()
    {
        { ["-w", "0", App], "workers" },
        { ["-b", "127.0.0.1:notaport", App], "notaport" },
        { ["-p", "/nonexistent-dir/app.pid", "-b", "127.0.0.1:0", App], "/nonexistent-dir/app.pid" },
        { ["-u", "no-such-user-xyz", "-b", "127.0.0.1:0", App], "no-such-user-xyz" },
        { ["-g", "no-such-group-xyz", "-b", "127.0.0.1:0", App], "no-such-group-xyz" },
    };

    [Fact]
    public void CtrlCToTheWholeGroupStopsEveryWorkerCleanly()
    {
        // The terminal sends SIGINT to every process of the group and the master then sends its workers QUIT: a
        // worker already exiting must not die of that QUIT (the master would warn "was sent SIGQUIT!", which
        // Gunicorn never does here). It raced in about one Ctrl-C in three; two rounds of eight workers catch it.
        for (var round = 0; round < 2; round++)
        {
            var port = FreePort();
            using var server = StartViaPython(OwnGroup, null, "-w", "8", "-b", $"127.0.0.1:{port}", App);
            server.WaitUntilServing(port);
            server.WaitForWorkers(8);
            Signal(-server.Pid, SIGINT);

            Assert.Equal(0, server.WaitForExit(60));
            Assert.False(server.Log.Contains("was sent", StringComparison.Ordinal), server.Log);
        }
    }

    [Theory]
    [MemberData(nameof(BadInput))]
    public void BadInputIsOneClearLineAndANonZeroExit(string[] args, string culprit)
    {
        using var server = Start(args);
        Assert.NotEqual(0, server.WaitForExit());
        var errors = server.Lines.Where(l => l.Contains(culprit, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(errors);
        Assert.DoesNotContain(server.Lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.Equal(0, server.Count("Booting worker"));
    }

    [Fact]
    public void APortInUseIsRetriedThenRefusedLeavingNothingBehind()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        var port = ((IPEndPoint)holder.LocalEndPoint!).Port;
        var dir = Directory.CreateTempSubdirectory("unicorn-busy-");
        var sock = Path.Combine(dir.FullName, "app.sock");
        var pidfile = Path.Combine(dir.FullName, "app.pid");

        using var server = Start("-p", pidfile, "-b", "unix:" + sock, "-b", $"127.0.0.1:{port}", App);

        Assert.Equal(1, server.WaitForExit(30));
        Assert.Contains($"Connection in use: ('127.0.0.1', {port})", server.Log, StringComparison.Ordinal);
        Assert.Contains($"connection to ('127.0.0.1', {port}) failed: [Errno 98] Address already in use", server.Log, StringComparison.Ordinal);
        Assert.Contains($"Can't connect to ('127.0.0.1', {port})", server.Log, StringComparison.Ordinal);
        Assert.Empty(dir.GetFileSystemInfos());
        dir.Delete();
    }
}
