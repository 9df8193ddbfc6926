// Measures what logging costs the request path: the caller-side price of AccessLog.Log (enqueue only),
// how fast the background writer drains to a real file, the formatting cost per line, a statsd
// request (three datagrams) and a Prometheus update. Run: dotnet run -c Release --project bench/logging
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Logging.Metrics;

const int N = 1_000_000;
var dir = Path.Combine(Path.GetTempPath(), "unicorn-logbench-" + Environment.ProcessId);
Directory.CreateDirectory(dir);
try
{
    var entry = new AccessLogEntry
    {
        Method = "GET",
        RawUri = "/api/items?page=2",
        Path = "/api/items",
        Query = "page=2",
        Protocol = "HTTP/1.1",
        RemoteAddress = "10.1.2.3",
        Status = "200 OK",
        ResponseLength = 5120,
        RequestHeaders = [new("Host", "example.com"), new("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"), new("Referer", "https://example.com/")],
        ResponseHeaders = [new("Content-Type", "application/json")],
        StartTime = DateTimeOffset.Now,
        Duration = TimeSpan.FromMilliseconds(3.2),
        Pid = Environment.ProcessId,
    };

    var format = AccessLogFormat.Parse(AccessLogFormat.Default);
    Measure("format one line (default format, writer thread cost)", N / 4, () => format.Format(entry));

    using (var log = new AccessLog(AccessLogFormat.Default, LogFile.Open(Path.Combine(dir, "access.log"), LogFile.Stdout), capacity: N))
    {
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < N; i++)
        {
            log.Log(entry);
        }

        var enqueue = sw.Elapsed;
        log.Flush(TimeSpan.FromMinutes(2));
        var drained = sw.Elapsed;
        Console.WriteLine($"AccessLog.Log (caller side, enqueue only)            {enqueue.TotalNanoseconds / N,8:F0} ns/call");
        Console.WriteLine($"background writer drained {N:N0} lines in {drained.TotalSeconds:F2} s = {N / drained.TotalSeconds,10:N0} lines/s, dropped {log.Dropped}");
    }

    using (var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
    {
        sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var statsd = new StatsdClient($"127.0.0.1:{((IPEndPoint)sink.LocalEndPoint!).Port}", "bench");
        Measure("statsd request metrics (3 non-blocking datagrams)", N / 10, () => statsd.Access(200, entry.Duration));
    }

    using (var board = MetricsBoard.Create(Path.Combine(dir, "metrics"), 1))
    using (var worker = WorkerMetrics.Open(board.Path, 0, Environment.ProcessId))
    {
        Measure("Prometheus worker update (one finished request)", N, () => worker.RequestFinished(200, entry.Duration));
        Measure("Prometheus scrape render (master)", 10_000, () => PrometheusText.Render(board.Snapshot()));
    }
}
finally
{
    Directory.Delete(dir, recursive: true);
}

static void Measure(string name, int count, Action action)
{
    for (var i = 0; i < Math.Min(count, 10_000); i++)
    {
        action(); // warm up (tiered JIT)
    }

    var sw = Stopwatch.StartNew();
    for (var i = 0; i < count; i++)
    {
        action();
    }

    Console.WriteLine($"{name,-52} {sw.Elapsed.TotalNanoseconds / count,8:F0} ns/call");
}
