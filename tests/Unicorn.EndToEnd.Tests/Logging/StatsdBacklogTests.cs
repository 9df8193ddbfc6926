using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// <c>--enable-backlog-metric</c>, as Gunicorn's statsd docs show it: the master sends the listen queue's length as
/// the <c>gunicorn.backlog</c> histogram each time it manages workers (about once a second). Gunicorn 26.1 sends
/// <c>gunicorn.backlog:0|h</c> while idle and <c>gunicorn.backlog:3|h</c> while its one sync worker is busy and three
/// more connections wait.
/// </summary>
public class StatsdBacklogTests
{
    [Fact]
    public void Backlog_metric_reports_the_connections_waiting_in_the_listen_queue()
    {
        using var statsd = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        statsd.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        statsd.ReceiveTimeout = 200;
        var statsdPort = ((IPEndPoint)statsd.LocalEndPoint!).Port;
        using var server = ServerProcess.Start(Path.Combine(ServerProcess.RepoRoot(), "unicorn"),
            ["--workers", "1", "--statsd-host", $"127.0.0.1:{statsdPort}", "--enable-backlog-metric", "--log-level", "debug",
                "pyfixtures.arbiter_app:app"],
            TimeSpan.FromSeconds(60));

        // The worker is booted once it answers; then it is kept busy, and three connections wait behind it.
        Assert.Contains("200", Encoding.ASCII.GetString(server.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray())),
            StringComparison.Ordinal);
        Thread.Sleep(2500); // a master loop or two with the queue empty (the boot probe's connection accepted)
        using var busy = new TcpClient();
        busy.Connect(IPAddress.Loopback, server.Port);
        busy.GetStream().Write("GET /sleep?s=6 HTTP/1.1\r\nHost: x\r\n\r\n"u8);
        Thread.Sleep(500);
        var waiting = Enumerable.Range(0, 3).Select(_ => new TcpClient()).ToList();
        try
        {
            foreach (var client in waiting)
            {
                client.Connect(IPAddress.Loopback, server.Port);
            }

            var packets = new List<string>();
            var buffer = new byte[2048];
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (DateTime.UtcNow < deadline && !packets.Contains("gunicorn.backlog:3|h"))
            {
                try
                {
                    packets.Add(Encoding.ASCII.GetString(buffer, 0, statsd.Receive(buffer)));
                }
                catch (SocketException)
                {
                    // Nothing yet; the master samples once a loop.
                }
            }

            Assert.Contains("gunicorn.backlog:0|h", packets);
            Assert.Contains("gunicorn.backlog:3|h", packets);
            // The line is written before the datagram is sent, but reaches this test through the output pipe's reader.
            var logged = DateTime.UtcNow.AddSeconds(5);
            while (DateTime.UtcNow < logged && !server.Output.Contains("[DEBUG] socket backlog: 3", StringComparison.Ordinal))
            {
                Thread.Sleep(50);
            }

            Assert.Contains("[DEBUG] socket backlog: 3", server.Output, StringComparison.Ordinal);
        }
        finally
        {
            waiting.ForEach(c => c.Dispose());
        }
    }
}
