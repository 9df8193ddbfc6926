using System.Net;
using System.Net.Sockets;
using Unicorn.Wsgi.Arbiter;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Tests.Arbiter;

public class ProcessSpawnerTests
{
    private static int WaitFor(int pid)
    {
        var deadline = Environment.TickCount64 + 10_000;
        while (Environment.TickCount64 < deadline)
        {
            if (Libc.waitpid(pid, out var status, Libc.WNOHANG) == pid)
            {
                return status;
            }

            Thread.Sleep(10);
        }

        Libc.kill(pid, Libc.SIGKILL);
        throw new TimeoutException("child did not exit");
    }

    [Fact]
    public void ChildInheritsListenersAndTheDup2dFdButNotCloexecFds()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var listenerFd = (int)listener.SafeHandle.DangerousGetHandle();
        Libc.SetInheritable(listenerFd, true);
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var cloexecFd = (int)closed.SafeHandle.DangerousGetHandle();
        using var heartbeat = WorkerHeartbeat.Create(null);
        // Placed above every fd in play, as the arbiter places it: a fixed number (200 once) can be the
        // cloexec socket's own when other tests in this process hold many fds.
        var target = Math.Max(Math.Max(listenerFd, cloexecFd), heartbeat.Fd) + 1;
        var output = Path.GetTempFileName();
        using (var outHandle = File.OpenHandle(output, FileMode.Create, FileAccess.Write))
        {
            var pid = ProcessSpawner.Spawn(new SpawnRequest
            {
                Path = "/bin/sh",
                Argv = ["sh", "-c", "ls /proc/$$/fd"],
                Environment = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" },
                Dup2 = [((int)outHandle.DangerousGetHandle(), 1), (heartbeat.Fd, target)],
            });
            var status = WaitFor(pid);
            Assert.Equal(0, Libc.WEXITSTATUS(status));
        }

        var fds = File.ReadAllLines(output).Select(int.Parse).ToHashSet();
        File.Delete(output);
        Assert.Contains(listenerFd, fds);
        Assert.Contains(target, fds);
        Assert.DoesNotContain(cloexecFd, fds);
    }

    [Fact]
    public void ExitStatusAndKillingSignalAreReported()
    {
        var env = new Dictionary<string, string>();
        var exited = ProcessSpawner.Spawn(new SpawnRequest { Path = "/bin/sh", Argv = ["sh", "-c", "exit 3"], Environment = env });
        var exit = new WorkerExit(exited, WaitFor(exited));
        Assert.Equal(3, exit.ExitCode);
        Assert.Equal((3, "Worker failed to boot."), exit.Halt);

        var killed = ProcessSpawner.Spawn(new SpawnRequest { Path = "/bin/sh", Argv = ["sh", "-c", "kill -9 $$"], Environment = env });
        var death = new WorkerExit(killed, WaitFor(killed));
        Assert.Equal(Libc.SIGKILL, death.Signal);
        Assert.Null(death.Halt);
        Assert.Equal($"Worker (pid:{killed}) was sent SIGKILL! Perhaps out of memory?", Assert.Single(death.LogLines()).Message);
    }

    [Fact]
    public void IgnoredSignalsAreResetInTheChild()
    {
        // A child must get default handling even for a signal this process ignores.
        Libc.signal(Libc.SIGUSR2, Libc.SIG_IGN);
        try
        {
            var pid = ProcessSpawner.Spawn(new SpawnRequest { Path = "/bin/sleep", Argv = ["sleep", "5"], Environment = new Dictionary<string, string>() });
            Thread.Sleep(100);
            Libc.kill(pid, Libc.SIGUSR2);
            Assert.Equal(Libc.SIGUSR2, new WorkerExit(pid, WaitFor(pid)).Signal);
        }
        finally
        {
            Libc.signal(Libc.SIGUSR2, Libc.SIG_DFL);
        }
    }

    [Fact]
    public void MissingProgramIsAnIOException() =>
        Assert.Throws<IOException>(() => ProcessSpawner.Spawn(new SpawnRequest { Path = "/nonexistent/unicorn", Argv = ["x"], Environment = new Dictionary<string, string>() }));
}
