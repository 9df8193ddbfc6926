using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Logging.Metrics;

namespace Unicorn.Wsgi.Tests.Logging;

[Collection(EnvironmentCollection.Name)]
public class MetricsTests
{
    [Fact]
    public void Workers_report_through_the_shared_file_and_counters_survive_a_restart()
    {
        using var dir = new TempDir();
        using var board = MetricsBoard.Create(dir.File("metrics"), 4);
        using (var w0 = WorkerMetrics.Open(board.Path, 0, 1000))
        using (var w1 = WorkerMetrics.Open(board.Path, 1, 1001))
        {
            w0.Sample(pythonThreads: 4, busyThreads: 1, queueDepth: 0);
            w0.RequestFinished(200, TimeSpan.FromMilliseconds(3));
            w1.RequestFinished(404, TimeSpan.FromSeconds(2));
            w1.Sample(pythonThreads: 1, busyThreads: 1, queueDepth: 7);

            var live = board.Snapshot();
            Assert.Equal(2, live.Requests);
            Assert.Equal(1, live.RequestsByStatus[200]);
            Assert.Equal(1, live.RequestsByStatus[404]);
            Assert.Equal(2, live.Workers.Count);
            Assert.Equal(new WorkerGauges(0, 1000, 1, 4, 1, 0), live.Workers[0]);
            Assert.Equal(new WorkerGauges(1, 1001, 8, 1, 1, 7), live.Workers[1]);
        }

        board.Retire(1);
        board.RecordWorkerExit("timeout");
        board.SetWorkerCount(1);
        var after = board.Snapshot();
        Assert.Equal(2, after.Requests);
        Assert.Equal(1, after.RequestsByStatus[404]);
        Assert.Single(after.Workers);
        Assert.Equal(1, after.RestartsByCause["timeout"]);

        using var reborn = WorkerMetrics.Open(board.Path, 1, 1002);
        reborn.RequestFinished(404, TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, board.Snapshot().RequestsByStatus[404]);
    }

    [Fact]
    public void Renders_prometheus_text_exposition()
    {
        var snapshot = new MetricsSnapshot(
            RequestsByStatus: Enumerable.Range(0, 600).Select(i => i == 200 ? 3L : i == 0 ? 1L : 0L).ToArray(),
            DurationBuckets: [1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            Requests: 4,
            DurationSumMicros: 12_500_000,
            Workers: [new WorkerGauges(0, 77, 1, 2, 1, 3)],
            RestartsByCause: new Dictionary<string, long> { ["timeout"] = 2, ["crash"] = 1 },
            WorkerCount: 1);
        var text = PrometheusText.Render(snapshot);
        Assert.Contains("# TYPE unicorn_requests_total counter\nunicorn_requests_total{status=\"other\"} 1\nunicorn_requests_total{status=\"200\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("unicorn_request_duration_seconds_bucket{le=\"0.005\"} 1\nunicorn_request_duration_seconds_bucket{le=\"0.01\"} 1\nunicorn_request_duration_seconds_bucket{le=\"0.025\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("unicorn_request_duration_seconds_bucket{le=\"+Inf\"} 4\nunicorn_request_duration_seconds_sum 12.5\nunicorn_request_duration_seconds_count 4\n", text, StringComparison.Ordinal);
        Assert.Contains("unicorn_requests_in_flight{worker=\"0\",pid=\"77\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("unicorn_python_threads{worker=\"0\",pid=\"77\",state=\"busy\"} 1\nunicorn_python_threads{worker=\"0\",pid=\"77\",state=\"idle\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("unicorn_queue_depth{worker=\"0\",pid=\"77\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE unicorn_workers gauge\nunicorn_workers 1\n", text, StringComparison.Ordinal);
        Assert.Contains("unicorn_worker_restarts_total{cause=\"crash\"} 1\nunicorn_worker_restarts_total{cause=\"timeout\"} 2\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_worker_finds_its_slot_through_the_environment()
    {
        using var dir = new TempDir();
        using var board = MetricsBoard.Create(dir.File("metrics"), 3);
        Assert.Null(MetricsEnvironment.OpenForWorker(1)); // variables not set: metrics off
        var variables = MetricsEnvironment.ForWorker(board, 2).ToList();
        try
        {
            foreach (var (name, value) in variables)
            {
                Environment.SetEnvironmentVariable(name, value);
            }

            using var worker = MetricsEnvironment.OpenForWorker(555);
            Assert.NotNull(worker);
            worker.Sample(2, 1, 0);
            Assert.Equal(new WorkerGauges(2, 555, 1, 2, 1, 0), Assert.Single(board.Snapshot().Workers));
        }
        finally
        {
            foreach (var (name, _) in variables)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }

    [Fact]
    public async Task Master_tracks_worker_slots_restarts_and_serves_the_sum()
    {
        await using var master = MasterMetrics.Start("127.0.0.1:0", masterPid: 900000 + Environment.ProcessId % 10000, slots: 2);
        var env = master.ReserveSlot(out var slot);
        Assert.Equal(0, slot);
        var path = env.Single(kv => kv.Key == MetricsEnvironment.FileVariable).Value;
        using (var worker = WorkerMetrics.Open(path, slot, 4242))
        {
            master.WorkerStarted(slot, 4242);
            worker.RequestFinished(200, TimeSpan.FromMilliseconds(2));
            master.SetWorkerCount(1);
            var live = await Scrape(master.EndPoint.Port, "GET /metrics HTTP/1.1\r\n\r\n");
            Assert.Contains("unicorn_requests_total{status=\"200\"} 1\n", live, StringComparison.Ordinal);
            Assert.Contains("unicorn_python_threads{worker=\"0\",pid=\"4242\",state=\"idle\"} 0\n", live, StringComparison.Ordinal);
        }

        master.ReserveSlot(out var second);
        master.WorkerStarted(second, null); // spawn failed: slot freed
        master.WorkerExited(4242, "timeout");
        var after = master.Render();
        Assert.Contains("unicorn_requests_total{status=\"200\"} 1\n", after, StringComparison.Ordinal);
        Assert.Contains("unicorn_worker_restarts_total{cause=\"timeout\"} 1\n", after, StringComparison.Ordinal);
        Assert.DoesNotContain("pid=\"4242\"", after, StringComparison.Ordinal);
        master.ReserveSlot(out var a);
        master.ReserveSlot(out var b);
        master.ReserveSlot(out var full);
        Assert.Equal([0, 1, -1], new[] { a, b, full });
    }

    [Fact]
    public void Logging_services_in_a_worker_count_requests_in_its_slot()
    {
        using var dir = new TempDir();
        using var board = MetricsBoard.Create(dir.File("metrics"), 1);
        var variables = MetricsEnvironment.ForWorker(board, 0).ToList();
        try
        {
            foreach (var (name, value) in variables)
            {
                Environment.SetEnvironmentVariable(name, value);
            }

            using var logs = Unicorn.Wsgi.Logging.LoggingSetup.Create(new Unicorn.Wsgi.Config.Settings());
            Assert.NotNull(logs.Metrics);
            Assert.True(logs.WantsRequests);
            logs.OnRequest(new Unicorn.Wsgi.Logging.AccessLogEntry { Method = "GET", RawUri = "/", Path = "/", Protocol = "HTTP/1.1", Status = "503 Busy" });
            Assert.Equal(1, board.Snapshot().RequestsByStatus[503]);
        }
        finally
        {
            foreach (var (name, _) in variables)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }

    [Fact]
    public void Label_values_are_escaped() =>
        Assert.Equal("a\\\\b\\\"c\\nd", PrometheusText.EscapeLabel("a\\b\"c\nd"));

    [Fact]
    public async Task Listener_serves_metrics_while_workers_count_requests()
    {
        using var dir = new TempDir();
        using var board = MetricsBoard.Create(dir.File("metrics"), 2);
        using var worker = WorkerMetrics.Open(board.Path, 0, 4321);
        await using var listener = MetricsListener.Start("127.0.0.1:0", () => PrometheusText.Render(board.Snapshot()));
        var port = listener.EndPoint.Port;

        using var running = new CancellationTokenSource();
        var load = Task.Run(() =>
        {
            var n = 0;
            while (!running.IsCancellationRequested || n < 100)
            {
                worker.RequestFinished(200, TimeSpan.FromMilliseconds(1));
                n++;
            }
        });

        Assert.True(SpinWait.SpinUntil(() => board.Snapshot().Requests > 0, 10_000));
        var first = await Scrape(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        await running.CancelAsync();
        await load;
        var second = await Scrape(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n", first, StringComparison.Ordinal);
        Assert.True(Count(first) > 0, first);
        Assert.True(Count(second) >= Count(first) && Count(second) >= 100, second);

        Assert.StartsWith("HTTP/1.1 404 ", await Scrape(port, "GET / HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 405 ", await Scrape(port, "POST /metrics HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400 ", await Scrape(port, "garbage\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 431 ", await Scrape(port, ("GET /metrics HTTP/1.1\r\nX: " + new string('a', 9000))[..8192]), StringComparison.Ordinal);
    }

    private static long Count(string response)
    {
        var line = response.Split('\n').FirstOrDefault(l => l.StartsWith("unicorn_requests_total{status=\"200\"}", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> Scrape(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }
}
