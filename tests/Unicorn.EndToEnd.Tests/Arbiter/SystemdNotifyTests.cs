using System.Diagnostics;
using System.Globalization;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>
/// sd_notify across a USR2 upgrade, without systemd: a datagram socket as NOTIFY_SOCKET that records each message
/// with its sender's pid (SO_PASSCRED), as systemd reads them to apply <c>NotifyAccess=main</c>.
/// </summary>
public class SystemdNotifyTests
{
    private const string Receiver = """
        import socket, struct, sys
        path, out = sys.argv[1], sys.argv[2]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        s.bind(path)
        open(out, "w").close()
        while True:
            data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
            pid = 0
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:12])[0]
            with open(out, "a") as f:
                f.write("%d %s\n" % (pid, data.decode().replace("\n", "|")))
        """;

    private sealed class NotifySocket : IDisposable
    {
        private readonly Process _process;
        private readonly string _out;

        public NotifySocket(string dir)
        {
            Path = System.IO.Path.Combine(dir, "notify.sock");
            _out = System.IO.Path.Combine(dir, "notify.log");
            _process = Process.Start(new ProcessStartInfo("/usr/bin/python3") { ArgumentList = { "-c", Receiver, Path, _out } })!;
            Assert.True(Poll(() => File.Exists(_out), 30), "the notify receiver did not start");
        }

        public string Path { get; }

        /// <summary>Each datagram so far: (sender pid, message with its lines joined by '|').</summary>
        public List<(int Pid, string Message)> Messages() =>
            [.. File.ReadAllLines(_out).Select(l => l.Split(' ', 2)).Select(p => (int.Parse(p[0], CultureInfo.InvariantCulture), p[1]))];

        public void Dispose()
        {
            _process.Kill();
            _process.WaitForExit();
            _process.Dispose();
        }
    }

    private const string AppSource = """
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        """;

    private static int PidIn(string file) => int.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);

    [Fact]
    public void Usr2_under_type_notify_the_old_master_names_the_new_one_main_pid_once_it_serves()
    {
        // With NotifyAccess=main systemd drops the new master's READY=1 (not its main pid), and once the old master is
        // stopped takes the service for dead. The old master, the main pid, must hand over with MAINPID=<new>.
        var dir = Directory.CreateTempSubdirectory("unicorn-notify-usr2-");
        File.WriteAllText(Path.Combine(dir.FullName, "notifyapp.py"), AppSource);
        var pidfile = Path.Combine(dir.FullName, "u.pid");
        var port = FreePort();
        using var notify = new NotifySocket(dir.FullName);
        using var server = Start(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path },
            "--chdir", dir.FullName, "-w", "1", "-p", pidfile, "-b", $"127.0.0.1:{port}", "notifyapp:app");
        server.WaitUntilServing(port);
        Assert.True(Poll(() => notify.Messages().Contains((server.Pid, "READY=1|STATUS=Unicorn arbiter booted")), 30));

        server.Signal(SIGUSR2);
        Assert.True(Poll(() => File.Exists(pidfile + ".2"), 30), server.Log);
        var next = PidIn(pidfile + ".2");
        try
        {
            var handOver = $"MAINPID={next}|";
            Assert.True(Poll(() => notify.Messages().Any(m => m.Message.StartsWith(handOver, StringComparison.Ordinal)), 60),
                "no MAINPID=<new master>; got:\n" + string.Join('\n', notify.Messages()) + "\nlog:\n" + server.Log);
            var sent = notify.Messages().Single(m => m.Message.StartsWith("MAINPID=", StringComparison.Ordinal));
            Assert.Equal(server.Pid, sent.Pid); // from the old master, the only one systemd listens to then
            Assert.True(WorkersOf(next).Count >= 1, "handed over before the new master had a worker");

            // A rollback: the new master stopped while the old one runs names the old one main pid again, from its own pid.
            Signal(next, SIGTERM);
            Assert.True(Poll(() => notify.Messages().Contains((next, $"MAINPID={server.Pid}|STATUS=Unicorn arbiter booted")), 30),
                "no MAINPID=<old master> on rollback; got:\n" + string.Join('\n', notify.Messages()));
            Assert.True(Poll(() => !Directory.Exists($"/proc/{next}"), 30));
            Assert.Equal(200, TryGet(port, "/"));
        }
        finally
        {
            if (Directory.Exists($"/proc/{next}"))
            {
                Signal(next, SIGKILL);
            }
        }

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        dir.Delete(recursive: true);
    }

    [Fact]
    public void Usr2_under_type_notify_sends_no_mainpid_when_the_new_master_fails_to_start()
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-notify-usr2-fail-");
        var app = Path.Combine(dir.FullName, "notifyfail.py");
        File.WriteAllText(app, AppSource);
        var pidfile = Path.Combine(dir.FullName, "u.pid");
        var port = FreePort();
        using var notify = new NotifySocket(dir.FullName);
        using var server = Start(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path },
            "--chdir", dir.FullName, "-w", "1", "-p", pidfile, "-b", $"127.0.0.1:{port}", "notifyfail:app");
        server.WaitUntilServing(port);

        File.Delete(app); // the new master's workers cannot import it: it halts ("Worker failed to boot.")
        if (Directory.Exists(Path.Combine(dir.FullName, "__pycache__")))
        {
            Directory.Delete(Path.Combine(dir.FullName, "__pycache__"), recursive: true);
        }

        server.Signal(SIGUSR2);
        server.WaitForLog("Reason: Worker failed to boot.", seconds: 60);
        // The old master reaps it within its loop's second; give a late datagram the time to arrive.
        Thread.Sleep(2000);
        Assert.DoesNotContain(notify.Messages(), m => m.Message.Contains("MAINPID", StringComparison.Ordinal));
        Assert.Equal(200, TryGet(port, "/"));

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        dir.Delete(recursive: true);
    }
}
