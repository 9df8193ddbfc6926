using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// Gunicorn's statsd logger sends a metric for a record logged through it with
/// <c>extra={"mtype": ..., "metric": ..., "value": ...}</c> (<c>worker.log.info</c>, <c>debug</c>, <c>log</c> in a
/// hook), and has <c>gauge</c>/<c>increment</c>/<c>decrement</c>/<c>timer</c>/<c>histogram</c> to call directly. The
/// expected packets are what Gunicorn 26.1 sends for the same hook.
/// </summary>
public sealed class StatsdLoggerExtraTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-statsd-extra-").FullName;

    private const string Hooks = """
        def post_request(worker, req, environ, resp):
            log = worker.log
            log.info("g", extra={"mtype": "gauge", "metric": "m.gauge", "value": 666})
            log.info("c", extra={"mtype": "counter", "metric": "m.counter", "value": 3})
            log.info("h", extra={"mtype": "histogram", "metric": "m.hist", "value": 42})
            log.info("t", extra={"mtype": "timer", "metric": "m.timer", "value": 7.5})
            log.info("z", extra={"mtype": "gauge", "metric": "m.zero", "value": 0})
            log.info("n", extra={"mtype": "gauge", "metric": "m.none", "value": None})
            log.info("bad", extra={"mtype": "bogus", "metric": "m.bogus", "value": 1})
            log.info("nom", extra={"mtype": "gauge", "value": 1})
            log.info("", extra={"mtype": "gauge", "metric": "m.silent", "value": 2})
            log.debug("dbg", extra={"mtype": "gauge", "metric": "m.debug", "value": 5})
            log.log(20, "lvl", extra={"mtype": "gauge", "metric": "m.log", "value": 9})
            log.warning("w", extra={"mtype": "gauge", "metric": "m.warning", "value": 1})
            log.increment("m.inc", 2)
            log.decrement("m.dec", 1, 0.5)
            log.gauge("m.direct", 4)
        """;

    [Fact]
    public void Records_with_metric_extras_become_statsd_packets_as_in_gunicorn()
    {
        File.WriteAllText(Path.Combine(_dir, "hooks.py"), Hooks);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.ReceiveTimeout = 200;
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var packets = new List<string>();
        string output;
        using (var server = ServerProcess.Start(Path.Combine(ServerProcess.RepoRoot(), "unicorn"),
                   ["--workers", "1", "--statsd-host", $"127.0.0.1:{port}", "--statsd-prefix", "test...",
                    "-c", Path.Combine(_dir, "hooks.py"), "pyfixtures.access_log_app:app"],
                   TimeSpan.FromSeconds(60)))
        {
            server.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
            var buffer = new byte[2048];
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < deadline && !packets.Contains("test.m.direct:4|g"))
            {
                try
                {
                    packets.Add(Encoding.ASCII.GetString(buffer, 0, listener.Receive(buffer)));
                }
                catch (SocketException)
                {
                    // Nothing yet; keep waiting until the deadline.
                }
            }

            server.Stop();
            output = server.Output;
        }

        Assert.Equal(
            [
                "test.m.counter:3|c|@1.0",
                "test.m.debug:5|g",
                "test.m.dec:-1|c|@0.5",
                "test.m.direct:4|g",
                "test.m.gauge:666|g",
                "test.m.hist:42|h",
                "test.m.inc:2|c|@1.0",
                "test.m.log:9|g",
                "test.m.silent:2|g",
                "test.m.timer:7.5|ms",
                "test.m.zero:0|g",
            ],
            packets.Where(p => p.StartsWith("test.m.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        // The records are still logged, except the one with an empty message; a warning's extras are not metrics.
        Assert.Contains("[INFO] g\n", output, StringComparison.Ordinal);
        Assert.Contains("[WARNING] w\n", output, StringComparison.Ordinal);
        Assert.DoesNotContain("[INFO] \n", output, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
