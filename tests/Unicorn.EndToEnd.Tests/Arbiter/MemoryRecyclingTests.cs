using System.Globalization;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>
/// max_worker_rss: a worker whose memory grows past the limit is replaced while requests keep coming, and
/// none of them fails; the restart is logged and counted.
/// </summary>
public class MemoryRecyclingTests
{
    [Theory]
    [InlineData("sync", false)]
    [InlineData("gthread", true)]
    public void AGrowingWorkerIsReplacedWithoutAFailedRequest(string workerClass, bool reusePort)
    {
        var port = FreePort();
        var metricsPort = FreePort();
        using var statsd = new StatsdListener();
        using var server = Start(["-w", "1", "-k", workerClass, "--threads", workerClass == "sync" ? "1" : "2",
            "--max-worker-rss", "200", "--metrics-bind", $"127.0.0.1:{metricsPort}", "--no-control-socket",
            "--statsd-host", $"127.0.0.1:{statsd.Port}", "--statsd-prefix", "shop",
            "-b", $"127.0.0.1:{port}", .. reusePort ? new[] { "--reuse-port" } : [], "pyfixtures.leak_app:app"]);
        server.WaitUntilServing(port);
        var first = server.Workers().Single();

        // Each /leak keeps 10 MiB: the worker passes 200 MiB within a few dozen requests.
        using (var client = new ContinuousClient(port, "/leak"))
        {
            server.WaitForLog("over max_worker_rss (200 MiB): replacing it", 1, 120);
            Assert.True(Poll(() => !server.Workers().Contains(first) && server.Workers().Count == 1, 120), server.Log);
            var served = client.Succeeded;
            Assert.True(Poll(() => client.Succeeded > served + 5, 60), "requests stopped after the recycle:\n" + server.Log);
            Assert.Empty(client.Failures);
            Assert.True(client.Bodies.Select(b => b.Split(' ')[0]).Distinct().Count() >= 2, "one worker served everything:\n" + server.Log);
        }

        var line = server.Lines.First(l => l.Contains("over max_worker_rss", StringComparison.Ordinal));
        Assert.Contains($"Worker (pid:{first}) uses ", line, StringComparison.Ordinal);
        var mib = int.Parse(line.Split(" uses ")[1].Split(' ')[0], CultureInfo.InvariantCulture);
        Assert.True(mib > 200, line);
        Assert.True(Poll(() => Get(metricsPort, "/metrics").Body.Contains("unicorn_worker_restarts_total{cause=\"max_worker_rss\"}", StringComparison.Ordinal), 30),
            Get(metricsPort, "/metrics").Body);
        // statsd: the master's counter, with the prefix, once per replacement.
        Assert.True(Poll(() => statsd.Received.Any(l => l.StartsWith("shop.unicorn.workers.rss_recycled:1|c", StringComparison.Ordinal)), 30),
            "statsd packets: " + string.Join(" ", statsd.Received));
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }
}
