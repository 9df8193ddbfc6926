using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// <c>--metrics-bind</c> on the real binary: scraped while requests run, then after a worker is killed;
/// and Gunicorn's <c>gunicorn.workers</c> statsd gauge from the master.
/// </summary>
public partial class MetricsEndpointTests
{
    [GeneratedRegex(@"^(?<name>[a-z_]+)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex Sample();

    [Fact]
    public async Task Scrape_while_requests_run_counts_statuses_durations_workers_in_flight_and_restarts()
    {
        var port = UnicornServer.FreePort();
        var metricsPort = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
            "-w", "2", "-b", $"127.0.0.1:{port}", "--metrics-bind", $"127.0.0.1:{metricsPort}", "pyfixtures.metrics_app:app");
        server.WaitUntilServing(port);
        server.WaitForWorkers(2);
        // Waiting for the server sent requests of its own: count from once they are all counted, and both
        // workers have booted and reported their thread.
        var before = Scrape(metricsPort);
        UnicornServer.Poll(() =>
        {
            Thread.Sleep(300);
            var previous = before;
            before = Scrape(metricsPort);
            return Sum(before, "unicorn_python_threads") == 2
                && before.GetValueOrDefault("unicorn_request_duration_seconds_count") >= 1
                && before.GetValueOrDefault("unicorn_request_duration_seconds_count") == previous.GetValueOrDefault("unicorn_request_duration_seconds_count");
        }, 30);
        double Delta(Dictionary<string, double> now, string key) => now.GetValueOrDefault(key) - before.GetValueOrDefault(key);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(200, UnicornServer.Get(port, "/").Status);
        }

        Assert.Equal(404, UnicornServer.Get(port, "/?status=404").Status);
        Assert.Equal(200, UnicornServer.Get(port, "/?sleep=0.3").Status);

        // One request sleeps while we scrape: it shows as in flight on a busy Python thread.
        var slow = Task.Run(() => UnicornServer.Get(port, "/?sleep=6"));
        Dictionary<string, double> during = [];
        Assert.True(UnicornServer.Poll(() =>
        {
            during = Scrape(metricsPort);
            // Sampled at each heartbeat: the request may show as queued before a Python thread takes it.
            return Sum(during, "unicorn_requests_in_flight") == 1 && Sum(during, "unicorn_python_threads", "state=\"busy\"") == 1;
        }, 4.5), "no request in flight while one sleeps:\n" + string.Join('\n', during.Select(p => $"{p.Key} {p.Value}")));
        Assert.Equal(1, Sum(during, "unicorn_python_threads", "state=\"idle\""));
        Assert.Equal(2, during["unicorn_workers"]);
        Assert.Equal(4, Delta(during, "unicorn_requests_total{status=\"200\"}"));
        Assert.Equal(1, Delta(during, "unicorn_requests_total{status=\"404\"}"));
        Assert.Equal(5, Delta(during, "unicorn_request_duration_seconds_count"));
        Assert.Equal(5, Delta(during, "unicorn_request_duration_seconds_bucket{le=\"+Inf\"}"));
        Assert.Equal(4, Delta(during, "unicorn_request_duration_seconds_bucket{le=\"0.25\"}"));
        Assert.Equal(5, Delta(during, "unicorn_request_duration_seconds_bucket{le=\"0.5\"}"));
        Assert.InRange(Delta(during, "unicorn_request_duration_seconds_sum"), 0.3, 2.5);
        Assert.Equal(200, (await slow).Status);

        // A killed worker is replaced, its requests still count, and the restart is counted as a crash.
        var victim = server.Workers()[0];
        UnicornServer.Signal(victim, UnicornServer.SIGKILL);
        Dictionary<string, double> after = [];
        Assert.True(UnicornServer.Poll(() =>
        {
            after = Scrape(metricsPort);
            return after.GetValueOrDefault("unicorn_worker_restarts_total{cause=\"crash\"}") == 1 && Sum(after, "unicorn_python_threads") == 2;
        }, 30), "no crash restart counted:\n" + string.Join('\n', after.Select(p => $"{p.Key} {p.Value}")));
        Assert.Equal(2, after["unicorn_workers"]);
        Assert.Equal(5, Delta(after, "unicorn_requests_total{status=\"200\"}"));
        Assert.Equal(0, Sum(after, "unicorn_requests_in_flight"));
        Assert.DoesNotContain(after.Keys, k => k.Contains($"pid=\"{victim}\"", StringComparison.Ordinal));

        // TTOU: one worker fewer, counted as a scale-down.
        server.Signal(UnicornServer.SIGTTOU);
        Assert.True(UnicornServer.Poll(() =>
        {
            after = Scrape(metricsPort);
            return after.GetValueOrDefault("unicorn_worker_restarts_total{cause=\"scale_down\"}") == 1;
        }, 30), "no scale-down counted:\n" + string.Join('\n', after.Select(p => $"{p.Key} {p.Value}")));
        Assert.Equal(1, after["unicorn_workers"]);
        Assert.Equal(1, after["unicorn_worker_restarts_total{cause=\"crash\"}"]);
    }

    [Fact]
    public void Worker_retired_by_max_requests_is_counted_and_the_master_serves_on()
    {
        // The cause is read from the retiring worker's heartbeat file: reading it after the master closed
        // that file threw in the master's loop and stopped the server at the first retirement.
        var port = UnicornServer.FreePort();
        var metricsPort = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
            "-w", "1", "--max-requests", "2", "-b", $"127.0.0.1:{port}", "--metrics-bind", $"127.0.0.1:{metricsPort}",
            "pyfixtures.metrics_app:app");
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);
        Dictionary<string, double> after = [];
        Assert.True(UnicornServer.Poll(() =>
        {
            UnicornServer.TryGet(port, "/");
            after = Scrape(metricsPort);
            return after.GetValueOrDefault("unicorn_worker_restarts_total{cause=\"max_requests\"}") >= 2;
        }, 60), "no max_requests restarts counted:\n" + server.Log);
        Assert.False(server.HasExited, server.Log);
        Assert.Equal(0, server.Count("Unhandled exception"));
        Assert.Equal(200, UnicornServer.Get(port, "/").Status);
    }

    [Fact]
    public void Master_sends_gunicorn_workers_gauge_to_statsd()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.ReceiveTimeout = 200;
        var statsdPort = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("-w", "2", "-b", $"127.0.0.1:{port}", "--statsd-host", $"127.0.0.1:{statsdPort}", "pyfixtures.metrics_app:app");
        Assert.Contains("gunicorn.workers:2|g", Receive(listener, "gunicorn.workers:2|g"));

        server.Signal(UnicornServer.SIGTTIN);
        Assert.Contains("gunicorn.workers:3|g", Receive(listener, "gunicorn.workers:3|g"));
    }

    private static List<string> Receive(Socket listener, string wanted)
    {
        var packets = new List<string>();
        var buffer = new byte[2048];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !packets.Contains(wanted))
        {
            try
            {
                packets.AddRange(Encoding.ASCII.GetString(buffer, 0, listener.Receive(buffer)).Split('\n'));
            }
            catch (SocketException)
            {
                // Nothing yet; keep waiting until the deadline.
            }
        }

        return packets;
    }

    /// <summary>GET /metrics; every sample keyed by its name and labels as written.</summary>
    private static Dictionary<string, double> Scrape(int metricsPort)
    {
        var (status, body) = UnicornServer.Get(metricsPort, "/metrics");
        Assert.Equal(200, status);
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (Match m in Sample().Matches(body.Replace("\r", "", StringComparison.Ordinal)))
        {
            var key = m.Groups["labels"].Success ? $"{m.Groups["name"].Value}{{{m.Groups["labels"].Value}}}" : m.Groups["name"].Value;
            samples[key] = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        }

        return samples;
    }

    /// <summary>The sum of a metric over its series, optionally only those whose labels contain <paramref name="label"/>.</summary>
    private static double Sum(Dictionary<string, double> samples, string name, string? label = null) =>
        samples.Where(p => p.Key.StartsWith(name + "{", StringComparison.Ordinal) && (label is null || p.Key.Contains(label, StringComparison.Ordinal)))
            .Sum(p => p.Value);
}
