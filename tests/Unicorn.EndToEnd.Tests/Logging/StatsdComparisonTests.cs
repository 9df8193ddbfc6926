using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// Real Gunicorn and Unicorn with <c>--statsd-host</c> pointed at a UDP listener the test runs: the
/// per-request packets (names, types, sampling rate, prefix, dogstatsd tags) must be the same, durations
/// masked.
/// </summary>
public partial class StatsdComparisonTests
{
    [GeneratedRegex(@"^(app\.gunicorn\.request\.duration):[\d.]+\|ms")]
    private static partial Regex Duration();

    private static readonly string[] Requests =
    [
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "POST /created HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ];

    internal static List<string> RequestPackets(string executable)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.ReceiveTimeout = 200;
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var packets = new List<string>();
        using (var server = ServerProcess.Start(executable,
                   ["--workers", "1", "--statsd-host", $"127.0.0.1:{port}", "--statsd-prefix", "app", "--dogstatsd-tags", "env:test", "pyfixtures.access_log_app:app"],
                   TimeSpan.FromSeconds(60)))
        {
            foreach (var request in Requests)
            {
                server.Send(Encoding.ASCII.GetBytes(request));
            }

            var buffer = new byte[2048];
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < deadline && packets.Count(p => p.StartsWith("app.gunicorn.request", StringComparison.Ordinal)) < 3 * Requests.Length)
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
        }

        return packets.Where(p => p.StartsWith("app.gunicorn.request", StringComparison.Ordinal))
            .Select(p => Duration().Replace(p, "$1:N|ms"))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    [Fact]
    public void Request_metrics_match_gunicorns_packets()
    {
        var gunicorn = RequestPackets("/usr/bin/gunicorn");
        Assert.Equal(
            [
                "app.gunicorn.request.duration:N|ms|#env:test",
                "app.gunicorn.request.duration:N|ms|#env:test",
                "app.gunicorn.request.duration:N|ms|#env:test",
                "app.gunicorn.request.status.200:1|c|@1.0|#env:test",
                "app.gunicorn.request.status.201:1|c|@1.0|#env:test",
                "app.gunicorn.request.status.404:1|c|@1.0|#env:test",
                "app.gunicorn.requests:1|c|@1.0|#env:test",
                "app.gunicorn.requests:1|c|@1.0|#env:test",
                "app.gunicorn.requests:1|c|@1.0|#env:test",
            ],
            gunicorn);
        Assert.Equal(gunicorn, RequestPackets(Path.Combine(ServerProcess.RepoRoot(), "unicorn")));
    }
}
