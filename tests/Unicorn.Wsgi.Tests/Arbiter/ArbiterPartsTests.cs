using Unicorn.Wsgi.Arbiter;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Tests.Arbiter;

public class ArbiterPartsTests
{
    [Fact]
    public void WorkerExitLinesFollowGunicorn()
    {
        var term = new WorkerExit(10, Libc.SIGTERM);
        Assert.Equal((LogLevel.Info, "Worker (pid:10) was sent SIGTERM!"), Assert.Single(term.LogLines()));

        var code = new WorkerExit(11, 4 << 8);
        Assert.Equal((LogLevel.Error, "Worker (pid:11) exited with code 4."), Assert.Single(code.LogLines()));
        Assert.Equal((4, "App failed to load."), code.Halt);

        var clean = new WorkerExit(12, 0);
        Assert.Empty(clean.LogLines());
        Assert.Null(clean.Halt);
    }

    [Fact]
    public void SignalQueueDrainsInOrderAndTimesOut()
    {
        using var queue = new SignalQueue();
        queue.Enqueue(Libc.SIGTTIN);
        queue.Enqueue(SignalQueue.Wakeup);
        queue.Enqueue(Libc.SIGHUP);
        Assert.Equal([Libc.SIGTTIN, Libc.SIGHUP], queue.Wait(TimeSpan.FromSeconds(1)));
        Assert.Empty(queue.Wait(TimeSpan.FromMilliseconds(20)));
    }

    [Fact]
    public void SignalQueueReceivesRealSignals()
    {
        using var queue = new SignalQueue();
        queue.Register([Libc.SIGUSR1, Libc.SIGTTIN]);
        Libc.kill(Environment.ProcessId, Libc.SIGUSR1);
        Libc.kill(Environment.ProcessId, Libc.SIGTTIN);
        var got = new List<int>();
        var deadline = Environment.TickCount64 + 5000;
        while (got.Count < 2 && Environment.TickCount64 < deadline)
        {
            got.AddRange(queue.Wait(TimeSpan.FromMilliseconds(200)));
        }

        Assert.Equal([Libc.SIGUSR1, Libc.SIGTTIN], got.Order());
    }

    [Fact]
    public void PidfileLifecycle()
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-test-");
        var path = Path.Combine(dir.FullName, "app.pid");
        var pidfile = new Pidfile(path);
        pidfile.Create(Environment.ProcessId);
        Assert.Equal($"{Environment.ProcessId}\n", File.ReadAllText(path));

        // A live pid in the file refuses a second server.
        var other = new Pidfile(path);
        var e = Assert.Throws<PidfileException>(() => other.Create(1));
        Assert.Equal($"Already running on PID {Environment.ProcessId} (or pid file '{path}' is stale)", e.Message);

        // Unlink leaves a file that names another process alone.
        File.WriteAllText(path, "1\n");
        pidfile.Unlink();
        Assert.True(File.Exists(path));
        File.WriteAllText(path, $"{Environment.ProcessId}\n");
        pidfile.Unlink();
        Assert.False(File.Exists(path));
        Assert.Empty(dir.GetFiles());
        dir.Delete();
    }

    [Fact]
    public void UnwritablePidfileIsOneLine()
    {
        var e = Assert.Throws<PidfileException>(() => new Pidfile("/nonexistent-dir/app.pid").Create(Environment.ProcessId));
        Assert.StartsWith("Can't write pidfile '/nonexistent-dir/app.pid'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void HeartbeatCarriesTimeAndState()
    {
        using var master = WorkerHeartbeat.Create(null);
        Assert.Equal(WorkerState.Booting, master.Read().State);
        var dup = Libc.fcntl(master.Fd, 0 /* F_DUPFD */, 50);
        using var worker = WorkerHeartbeat.FromFd(dup);
        Thread.Sleep(30);
        var before = master.SinceLastBeat;
        worker.Beat(WorkerState.Retiring);
        Assert.Equal(WorkerState.Retiring, master.Read().State);
        Assert.Equal(RetireCause.MaxRequests, master.ReadCause());
        Assert.True(master.SinceLastBeat < before);
        worker.Cause = RetireCause.MaxRequestTime;
        worker.Beat(WorkerState.Retiring);
        Assert.Equal(RetireCause.MaxRequestTime, master.ReadCause());
        Assert.Equal(WorkerState.Retiring, master.Read().State);
    }

    [Fact]
    public void SettingsSurviveTheHandOver()
    {
        var settings = new Settings();
        settings.Set("workers", 3);
        settings.Set("bind", (IReadOnlyList<string>)["127.0.0.1:1", "unix:/x"]);
        settings.Set("pidfile", null);
        settings.Set("preload_app", true);
        var back = HandOver.DeserializeSettings(HandOver.SerializeSettings(settings));
        Assert.Equal(3, back.Get<int>("workers"));
        Assert.Equal(["127.0.0.1:1", "unix:/x"], back.Bind);
        Assert.Null(back.Get<object?>("pidfile"));
        Assert.True(back.Get<bool>("preload_app"));
    }

    [Fact]
    public void UnknownUserAndGroupAreOneLineErrors()
    {
        var e = Assert.Throws<ArbiterException>(() => ProcessIdentity.Resolve(new ProcessSettings { User = "no-such-user-xyz" }));
        Assert.Equal("Error: No such user: 'no-such-user-xyz'", e.Message);
        var g = Assert.Throws<ArbiterException>(() => ProcessIdentity.Resolve(new ProcessSettings { Group = "no-such-group-xyz" }));
        Assert.Equal("Error: No such group: 'no-such-group-xyz'", g.Message);
        Assert.Equal(0u, ProcessIdentity.Resolve(new ProcessSettings { User = "root", Group = "0" }).Uid);
    }
}
