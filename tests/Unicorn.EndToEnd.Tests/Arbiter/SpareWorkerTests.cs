using System.Globalization;
using System.Text.RegularExpressions;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>
/// worker_spares: booted workers parked without accepting, promoted when the master needs a worker (TTIN here),
/// discarded on HUP so none serves old settings, and replaced when one dies.
/// </summary>
public sealed partial class SpareWorkerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-spares-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [GeneratedRegex(@"Spare worker \(pid: (\d+)\) parked")]
    private static partial Regex ParkedLine();

    private static List<int> Parked(UnicornServer server) =>
        [.. server.Lines.Select(l => ParkedLine().Match(l)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];

    private static int PidAnswering(int port) => int.Parse(Get(port, "/pid").Body, CultureInfo.InvariantCulture);

    private static int? TryPid(int port)
    {
        try
        {
            return PidAnswering(port);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or FormatException)
        {
            return null;
        }
    }

    /// <summary>One worker serving and one spare parked beside it.</summary>
    private static UnicornServer StartWithOneSpare(out int port, out int spare, out int worker)
    {
        port = FreePort();
        var server = Start("--log-level", "debug", "-w", "1", "--worker-spares", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        try
        {
            server.WaitUntilServing(port);
            server.WaitForLog("parked", 1, 120);
            spare = Parked(server)[0];
            worker = PidAnswering(port);
            return server;
        }
        catch
        {
            server.Dispose(); // the caller's using never saw it
            throw;
        }
    }

    [Fact]
    public void A_parked_spare_accepts_nothing_and_TTIN_promotes_it()
    {
        using var server = StartWithOneSpare(out var port, out var spare, out var worker);
        Assert.NotEqual(worker, spare);
        Assert.Contains(spare, server.Workers()); // a child of the master, alive

        // It holds the listener but never accepts on it: every request goes to the serving worker.
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(worker, PidAnswering(port));
        }

        server.Signal(SIGTTIN);
        server.WaitForLog($"Promoted spare worker (pid: {spare})", 1, 60);
        Assert.True(Poll(() => TryPid(port) == spare, 60), "the promoted spare never answered");
        // A new spare boots in the background once the promoted one serves.
        server.WaitForLog("parked", 2, 120);
        Assert.DoesNotContain(spare, Parked(server).Skip(1));

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void A_parked_spares_warm_up_requests_never_reach_the_users_app()
    {
        // The app notes every call with its pid and path.
        File.WriteAllText(Path.Combine(_dir, "noting_app.py"), """
            import os

            def app(environ, start_response):
                with open(os.path.join(os.path.dirname(__file__), "calls"), "a") as f:
                    f.write("%d %s\n" % (os.getpid(), environ["PATH_INFO"]))
                body = str(os.getpid()).encode()
                start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
                return [body]
            """);
        var calls = Path.Combine(_dir, "calls");
        var port = FreePort();
        using var server = Start("--log-level", "debug", "-w", "1", "--worker-spares", "1", "--pythonpath", _dir,
            "-b", $"127.0.0.1:{port}", "noting_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("parked", 1, 120);
        var spare = Parked(server)[0];
        // It served its synthetic requests (to the bridge's own app) before parking.
        Assert.Matches(@"parked \(\d+ methods compiled, [1-9]\d* synthetic requests answered", server.Lines.Single(l => ParkedLine().IsMatch(l)));
        // Its warm-up's garbage is given back before it waits.
        Assert.Contains(server.Lines, l => l.Contains($"Spare worker (pid: {spare}) returned its free memory before it waits", StringComparison.Ordinal));

        server.Signal(SIGTTIN);
        server.WaitForLog($"Promoted spare worker (pid: {spare})", 1, 60);
        Assert.True(Poll(() => TryPid(port) == spare, 60), "the promoted spare never answered");

        // The user's app saw the test's requests only: none from the warm-up, none from the spare before promotion.
        var lines = File.ReadAllLines(calls);
        Assert.All(lines, l => Assert.Matches(@"^\d+ /(pid)?$", l));
        Assert.Contains($"{spare} /pid", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith($"{spare} /", StringComparison.Ordinal) && l != $"{spare} /pid");

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void HUP_discards_spares_and_the_promoted_worker_has_the_new_config()
    {
        var config = Path.Combine(_dir, "conf.py");
        File.WriteAllText(config, "raw_env = ['SPARE_MARK=one']\n");
        var port = FreePort();
        using var server = Start("--log-level", "debug", "-c", config, "-w", "1", "--worker-spares", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("parked", 1, 120);
        var old = Parked(server)[0];

        File.WriteAllText(config, "raw_env = ['SPARE_MARK=two']\n");
        server.Signal(SIGHUP);
        server.WaitForLog($"Spare worker (pid: {old}) exited", 1, 60);
        server.WaitForLog("parked", 2, 120);
        var fresh = Parked(server)[1];
        Assert.NotEqual(old, fresh);

        server.Signal(SIGTTIN);
        server.WaitForLog($"Promoted spare worker (pid: {fresh})", 1, 60);
        Assert.True(Poll(() => TryPid(port) == fresh, 60), "the promoted spare never answered");
        // The old spare was never promoted, and what serves saw the reloaded config file.
        Assert.Equal(0, server.Count($"Promoted spare worker (pid: {old})"));
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("two", Get(port, "/env?name=SPARE_MARK").Body);
        }

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void A_worker_retired_by_max_requests_is_replaced_by_a_spare()
    {
        var port = FreePort();
        using var server = Start("--log-level", "debug", "-w", "1", "--worker-spares", "1", "--max-requests", "10",
            "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("parked", 1, 120);
        var first = PidAnswering(port);
        var spare = Parked(server)[0];

        // The eleventh request goes to the promoted spare, not to a worker still booting.
        var pids = new List<int?>();
        for (var i = 0; i < 14; i++)
        {
            pids.Add(TryPid(port));
        }

        server.WaitForLog($"Promoted spare worker (pid: {spare})", 1, 60);
        Assert.Contains(spare, pids);
        Assert.DoesNotContain(pids, p => p is { } pid && pid != first && pid != spare);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void A_killed_spare_is_replaced_and_serving_goes_on()
    {
        using var server = StartWithOneSpare(out var port, out var spare, out var worker);

        Signal(spare, SIGKILL);
        server.WaitForLog($"Worker (pid:{spare}) was sent SIGKILL!", 1, 60);
        server.WaitForLog("parked", 2, 120);
        Assert.Equal(worker, PidAnswering(port));
        Assert.DoesNotContain("Shutting down", server.Log, StringComparison.Ordinal);

        var second = Parked(server)[1];
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.True(Poll(() => !Directory.Exists($"/proc/{second}"), 10), "a spare outlived its master");
    }

    [GeneratedRegex(@"Spare worker \(pid: (\d+)\) booted; compiling the request path")]
    private static partial Regex WarmingUpLine();

    [Fact]
    public void A_stop_during_a_spares_warm_up_ends_it_there()
    {
        // The JIT build's warm-up takes seconds (synthetic requests, waits for the JIT), and the master's stop waits for
        // the spare: a TERM soon after a start or a HUP must not wait for it to finish compiling what it will never
        // run. (The native build's has nothing to compile and ends in milliseconds, before a TERM could reach it.)
        var port = FreePort();
        using var server = Start(JitBuild(), "--log-level", "debug", "-w", "1", "--worker-spares", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("booted; compiling the request path", 1, 120);
        var spare = int.Parse(server.Lines.Select(l => WarmingUpLine().Match(l)).First(m => m.Success).Groups[1].Value, CultureInfo.InvariantCulture);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.Contains($"Spare worker (pid: {spare}) told to stop during its warm-up", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain(spare, Parked(server));
        Assert.Contains($"Worker exiting (pid: {spare})", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_spare_stuck_in_its_boot_is_killed_after_the_boot_allowance_and_replaced()
    {
        var port = FreePort();
        using var server = Start("--log-level", "debug", "-w", "1", "--worker-spares", "1", "-t", "2", "--boot-timeout", "3",
            "--worker-start", "spawn", "-b", $"127.0.0.1:{port}", "pyfixtures.spare_hang:app");
        server.WaitUntilServing(port);
        server.WaitForLog("still booting after 3 s (boot_timeout); killing it", 1, 90);
        server.WaitForLog("Booting spare worker", 2, 60);
        Assert.Equal(0, server.Count("parked"));
        // Never promoted: TTIN boots a worker of its own, which serves.
        server.Signal(SIGTTIN);
        server.WaitForLog("Booting worker with pid:", 3, 90);
        Assert.Equal(0, server.Count("Promoted spare worker"));
        Assert.Equal(200, Get(port, "/").Status);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Theory]
    [InlineData("--reload", "reload (--reload)")]
    [InlineData("--reuse-port", "reuse_port (--reuse-port)")]
    public void Spares_are_refused_where_a_parked_worker_would_be_wrong(string flag, string named)
    {
        var port = FreePort();
        using var server = Start("--worker-spares", "1", flag, "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        Assert.NotEqual(0, server.WaitForExit(60));
        var line = Assert.Single(server.Lines, l => l.Contains("worker_spares", StringComparison.Ordinal));
        Assert.Contains(named, line, StringComparison.Ordinal);
    }
}
