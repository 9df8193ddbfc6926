using System.Globalization;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>
/// --reuse-port: the master holds one SO_REUSEPORT socket per worker slot and gives each worker its slot's, so the
/// kernel spreads connections over the workers and what queues on a slot outlives the worker accepting from it.
/// </summary>
public class ReusePortTests
{
    private const string App = "pyfixtures.arbiter_app:app";

    [Fact]
    public void Each_worker_accepts_from_a_slot_of_its_own()
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-reuse-port-");
        var unix = Path.Combine(dir.FullName, "app.sock");
        using var server = Start("--reuse-port", "-w", "2", "-b", $"unix:{unix}", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(2);
        // The TCP address is the slots' and the unix socket shared, as before: both named, in bind's order.
        server.WaitForLog($"Listening at: unix:{unix},http://127.0.0.1:{port} ({server.Pid})");
        Assert.Equal(200, Get(new System.Net.Sockets.UnixDomainSocketEndPoint(unix), "/pid").Status);

        // The kernel spreads new connections over the slots by a hash of the client port.
        var pids = new HashSet<string>();
        Assert.True(Poll(() => { pids.Add(Get(port, "/pid").Body); return pids.Count == 2; }, 30), server.Log);
        // Two listening sockets on the port, where a shared listener is one.
        Assert.Equal(2, ListeningSockets(port));

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        dir.Delete(recursive: true);
    }

    [Fact]
    public void A_connection_made_after_its_worker_was_killed_waits_for_the_replacement()
    {
        // One worker, so one slot: with sockets of the worker's own, nothing listened on the port from the worker's
        // death until its replacement had booted, and this connection was refused.
        var port = FreePort();
        using var server = Start("--reuse-port", "-w", "1", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);
        var victim = server.Workers()[0];

        Signal(victim, SIGKILL);
        Assert.True(Poll(() => !File.Exists($"/proc/{victim}/status") || File.ReadAllText($"/proc/{victim}/status").Contains("\nState:\tZ", StringComparison.Ordinal), 10));
        var (status, body) = Get(port, "/pid", timeoutSeconds: 60);

        Assert.Equal(200, status);
        Assert.NotEqual(victim.ToString(CultureInfo.InvariantCulture), body);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void Slots_follow_the_worker_count_and_none_is_left_without_a_worker()
    {
        var port = FreePort();
        using var server = Start("--reuse-port", "-w", "2", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(2);

        server.Signal(SIGTTIN);
        Assert.True(Poll(() => server.Workers().Count == 3 && ListeningSockets(port) == 3, 30), server.Log);
        AllServed(port, server);

        // The stopped worker drains its slot and the master lets go of it: a slot kept without a worker would
        // hold the connections the kernel hashes to it until they time out.
        server.Signal(SIGTTOU);
        Assert.True(Poll(() => server.Workers().Count == 2 && ListeningSockets(port) == 2, 30), server.Log);
        AllServed(port, server);

        // A HUP's new workers take over the old ones' slots rather than adding theirs.
        var before = server.Workers();
        server.Signal(SIGHUP);
        Assert.True(Poll(() => server.Workers() is var now && now.Count == 2 && !now.Intersect(before).Any(), 40), server.Log);
        Assert.Equal(2, ListeningSockets(port));
        AllServed(port, server);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    /// <summary>Forty connections from as many client ports, so every slot is hashed to; each is answered.</summary>
    private static void AllServed(int port, UnicornServer server)
    {
        for (var i = 0; i < 40; i++)
        {
            Assert.True(Get(port, "/pid", timeoutSeconds: 10).Status == 200, server.Log);
        }
    }

    /// <summary>Sockets listening on the loopback port, from /proc/net/tcp.</summary>
    internal static int ListeningSockets(int port)
    {
        var portHex = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        return File.ReadAllLines("/proc/net/tcp").Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(f => f[1].EndsWith(portHex, StringComparison.Ordinal) && f[3] == "0A");
    }
}
