using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>Listeners the master did not bind: <c>fd://N</c> and systemd socket activation.</summary>
public class InheritedSocketTests
{
    private const string App = "pyfixtures.arbiter_app:app";

    // argv: [-c, unicorn, port, app...]; binds 127.0.0.1:port, then execs unicorn with the socket inherited.
    private const string Launcher = """
        import os, socket, sys
        unicorn, port, rest = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        fd = s.fileno()
        if os.environ.get("AS_SYSTEMD"):
            os.dup2(fd, 3)
            fd = 3
            os.environ["LISTEN_FDS"] = "1"
            os.environ["LISTEN_PID"] = str(os.getpid())
        os.set_inheritable(fd, True)
        args = [a.replace("{fd}", str(fd)) for a in rest]
        os.execv(unicorn, [unicorn] + args)
        """;

    [Fact]
    public void ServesOnAnFdPassedAsFdUrl()
    {
        var port = FreePort();
        using var server = StartViaPython(Launcher, null, port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-w", "2", "-b", "fd://{fd}", App);
        server.WaitUntilServing(port);
        server.WaitForLog($"Listening at: http://127.0.0.1:{port}");
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void ServesOnASystemdActivatedSocket()
    {
        var port = FreePort();
        var env = new Dictionary<string, string> { ["AS_SYSTEMD"] = "1" };
        using var server = StartViaPython(Launcher, env, port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-w", "2", App);
        server.WaitUntilServing(port);
        server.WaitForLog($"Listening at: http://127.0.0.1:{port}");
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }
}
