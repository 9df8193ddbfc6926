using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>HUP and USR2 while a client keeps sending: every request is answered.</summary>
public class ZeroDowntimeTests
{
    private const string App = "pyfixtures.arbiter_app:app";

    [Fact]
    public void HupReplacesEveryWorkerWithoutAFailedRequest()
    {
        var port = FreePort();
        using var server = Start("-w", "2", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(2);
        var before = server.Workers();

        using (var client = new ContinuousClient(port))
        {
            Thread.Sleep(500);
            server.Signal(SIGHUP);
            Assert.True(Poll(() => server.Workers() is var now && now.Count == 2 && !now.Intersect(before).Any(), 40), server.Log);
            Thread.Sleep(500);
            Assert.Empty(client.Failures);
            Assert.True(client.Succeeded > 10);
        }

        Assert.Contains("Hang up: Master", server.Log, StringComparison.Ordinal);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void HupWithReusePortLosesNoConnectionQueuedOnAnOldWorkersSocket()
    {
        // With reuse_port each worker accepts from a socket of its own slot, and the kernel queues new connections on
        // it for that worker alone: the master keeps the slot open for the replacement.
        var port = FreePort();
        using var server = Start("-w", "2", "--reuse-port", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(2);

        using (var client = new ContinuousClient(port))
        using (var second = new ContinuousClient(port))
        {
            for (var i = 0; i < 3; i++)
            {
                var before = server.Workers();
                Thread.Sleep(300);
                server.Signal(SIGHUP);
                Assert.True(Poll(() => server.Workers() is var now && now.Count == 2 && !now.Intersect(before).Any(), 40), server.Log);
            }

            Thread.Sleep(300);
            // When each worker bound a socket of its own, the first client alone lost 3-4 connections over three
            // HUPs; once old workers drained theirs, up to one per HUP still completed its handshake between the
            // last accept and the close, and was reset.
            Assert.Empty(client.Failures);
            Assert.Empty(second.Failures);
            Assert.True(client.Succeeded > 10);
        }

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Usr2ThenTermOfTheOldMasterHandsOverWithoutAFailedRequest(bool reusePort)
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-usr2-");
        var pidfile = Path.Combine(dir.FullName, "app.pid");
        using var server = Start(["-w", "1", "-p", pidfile, "-b", $"127.0.0.1:{port}", .. reusePort ? new[] { "--reuse-port" } : [], App]);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);
        int newMaster;

        using (var client = new ContinuousClient(port))
        {
            Thread.Sleep(300);
            server.Signal(SIGUSR2);
            Assert.True(Poll(() => File.Exists(pidfile + ".2"), 20), server.Log);
            newMaster = int.Parse(File.ReadAllText(pidfile + ".2").Trim());
            Assert.True(Poll(() => WorkersOf(newMaster).Count == 1, 30), server.Log);
            server.WaitForLog("Booting worker with pid:", 2);
            Thread.Sleep(1000);
            // reuse_port: the new master took over the old one's slot (with a socket of its own, the old master's
            // stop would reset what the kernel queued on the old one's).
            Assert.Equal(1, ReusePortTests.ListeningSockets(port));

            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit());
            Assert.True(Poll(() => File.Exists(pidfile) && File.ReadAllText(pidfile).Trim() == newMaster.ToString(System.Globalization.CultureInfo.InvariantCulture), 10), server.Log);
            Assert.False(File.Exists(pidfile + ".2"));
            Thread.Sleep(500);
            Assert.Empty(client.Failures);
            Assert.Contains(WorkersOf(newMaster)[0].ToString(System.Globalization.CultureInfo.InvariantCulture), client.Bodies);
        }

        Signal(newMaster, SIGTERM);
        Assert.True(Poll(() => !File.Exists(pidfile), 30));
        dir.Delete(recursive: true);
    }
}
