using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// Real Gunicorn and Unicorn with <c>--log-syslog</c> to a unix datagram socket the test listens on: the
/// records (priority, tag from the app name, pid field, error and access messages) must be the same once
/// pids, ports and the banner's server name and version are masked.
/// </summary>
public partial class SyslogComparisonTests
{
    [GeneratedRegex(@"Starting \w+ \S+\0$")]
    private static partial Regex Banner();

    [GeneratedRegex(@"(?<=\[|pid: |:|\()\d+")]
    private static partial Regex Numbers();

    internal static List<string> Records(string executable)
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-syslog-").FullName;
        var socketPath = Path.Combine(dir, "log.sock");
        try
        {
            using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.ReceiveTimeout = 200;
            var records = new List<string>();
            var buffer = new byte[4096];
            void Drain()
            {
                while (true)
                {
                    try
                    {
                        records.Add(Encoding.UTF8.GetString(buffer, 0, listener.Receive(buffer)));
                    }
                    catch (SocketException)
                    {
                        return;
                    }
                }
            }

            using (var server = ServerProcess.Start(executable,
                       ["--workers", "1", "--log-syslog", "--log-syslog-to", $"unix://{socketPath}#dgram", "--log-syslog-facility", "local3",
                        "--access-logformat", "%(m)s %(U)s %(s)s", "pyfixtures.access_log_app:app"],
                       TimeSpan.FromSeconds(60)))
            {
                server.Send("GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (DateTime.UtcNow < deadline && !records.Any(r => r.Contains(".access:", StringComparison.Ordinal)))
                {
                    Drain();
                }

                server.Stop();
                Drain();
            }

            return records.Select(r => Numbers().Replace(Banner().Replace(r, "Starting SERVER VERSION\0"), "N")).Order(StringComparer.Ordinal).ToList();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Syslog_records_match_gunicorns()
    {
        var gunicorn = Records("/usr/bin/gunicorn");
        Assert.Contains("<158>gunicorn.pyfixtures.access_log_app.app.access: [N] GET /missing 404\0", gunicorn);
        Assert.Contains("<158>gunicorn.pyfixtures.access_log_app.app.error: [N] Starting SERVER VERSION\0", gunicorn);
        var unicorn = Records(Path.Combine(ServerProcess.RepoRoot(), "unicorn"));

        // Unicorn's one addition, the interpreter it embeds (docs/differences.md).
        var python = Assert.Single(unicorn, r => r.Contains(".error: [N] Using Python: ", StringComparison.Ordinal));
        unicorn.Remove(python);
        // Gunicorn 26.1's control socket line, which the installed Gunicorn 20.1 predates.
        var control = Assert.Single(unicorn, r => r.Contains(".error: [N] Control socket listening at ", StringComparison.Ordinal));
        unicorn.Remove(control);
        Assert.Equal(gunicorn, unicorn);
    }
}
