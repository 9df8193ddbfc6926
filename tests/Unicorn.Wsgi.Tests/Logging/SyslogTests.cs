using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Tests.Logging;

public class SyslogTests
{
    [Theory]
    [InlineData("udp://localhost:514", SyslogTransport.Udp, "localhost", 514, null)]
    [InlineData("udp://LOGHOST", SyslogTransport.Udp, "loghost", 514, null)]
    [InlineData("udp://", SyslogTransport.Udp, "localhost", 514, null)]
    [InlineData("tcp://10.0.0.1:5514", SyslogTransport.Tcp, "10.0.0.1", 5514, null)]
    [InlineData("tcp://[::1]:601", SyslogTransport.Tcp, "::1", 601, null)]
    [InlineData("unix:///dev/log", SyslogTransport.Unix, "", 0, "/dev/log")]
    [InlineData("unix:///dev/log#dgram", SyslogTransport.UnixDatagram, "", 0, "/dev/log")]
    [InlineData("unix:///dev/log#stream", SyslogTransport.UnixStream, "", 0, "/dev/log")]
    public void Addresses_parse_like_gunicorn(string text, SyslogTransport transport, string host, int port, string? path) =>
        Assert.Equal(new SyslogAddress(transport, host, port, path), SyslogAddress.Parse(text));

    [Theory]
    [InlineData("syslog://x")]
    [InlineData("udp://host:http")]
    [InlineData("unix://")]
    [InlineData("unix:///dev/log#seqpacket")]
    public void Bad_addresses_are_one_clear_error(string text) =>
        Assert.StartsWith("--log-syslog-to:", Assert.Throws<FormatException>(() => SyslogAddress.Parse(text)).Message, StringComparison.Ordinal);

    [Fact]
    public void Facilities_and_priorities_follow_python()
    {
        Assert.Equal(1, SyslogFacility.Parse("user"));
        Assert.Equal(23, SyslogFacility.Parse("LOCAL7"));
        Assert.Equal(4, SyslogFacility.Parse("security"));
        Assert.Throws<FormatException>(() => SyslogFacility.Parse("local8"));
        Assert.Equal(11, SyslogFacility.Priority(1, LogLevel.Error));
        Assert.Equal(14, SyslogFacility.Priority(1, LogLevel.Info));
        Assert.Equal(186, SyslogFacility.Priority(23, LogLevel.Critical));
    }

    [Fact]
    public void Error_log_records_reach_a_udp_listener_in_gunicorns_format()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.ReceiveTimeout = 5000;
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        using var dir = new TempDir();
        var syslog = new SyslogClient(SyslogAddress.Parse($"udp://127.0.0.1:{port}"), SyslogFacility.Parse("local0"));
        using (var log = new ErrorLog(LogFile.Open(dir.File("e.log"), LogFile.Stderr), LogLevel.Info, syslog, "gunicorn.myapp.error"))
        {
            ((IErrorLog)log).Error("Worker failed to boot.");
        }

        var buffer = new byte[2048];
        var n = listener.Receive(buffer);
        Assert.Equal($"<131>gunicorn.myapp.error: [{Environment.ProcessId}] Worker failed to boot.\0", Encoding.UTF8.GetString(buffer, 0, n));
    }

    [Fact]
    public void Access_lines_reach_a_unix_datagram_listener()
    {
        using var dir = new TempDir();
        var socketPath = dir.File("log.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.ReceiveTimeout = 5000;
        var syslog = new SyslogClient(SyslogAddress.Parse("unix://" + socketPath), SyslogFacility.Parse("user"));
        using (var log = new AccessLog("%(m)s %(U)s %(s)s", null, syslog, "gunicorn.app.access"))
        {
            Assert.True(log.Enabled);
            log.Log(new AccessLogEntry { Method = "GET", RawUri = "/é", Path = "/é", Protocol = "HTTP/1.1", Status = "200 OK", Pid = 99 });
            Assert.True(log.Flush(TimeSpan.FromSeconds(10)));
        }

        var buffer = new byte[2048];
        var n = listener.Receive(buffer);
        Assert.Equal("<14>gunicorn.app.access: [99] GET /é 200\0", Encoding.UTF8.GetString(buffer, 0, n));
    }

    [Fact]
    public void Unix_address_without_type_falls_back_to_a_stream_listener()
    {
        using var dir = new TempDir();
        var socketPath = dir.File("stream.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(1);
        using var client = new SyslogClient(SyslogAddress.Parse("unix://" + socketPath), 1);
        client.Send(LogLevel.Warning, "gunicorn.x.error: [1] one");
        client.Send(LogLevel.Info, "gunicorn.x.error: [1] two");
        using var accepted = listener.Accept();
        accepted.ReceiveTimeout = 5000;
        var expected = "<12>gunicorn.x.error: [1] one\0<14>gunicorn.x.error: [1] two\0";
        var received = new StringBuilder();
        var buffer = new byte[1024];
        while (received.Length < expected.Length)
        {
            var n = accepted.Receive(buffer);
            Assert.True(n > 0);
            received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }

        Assert.Equal(expected, received.ToString());
        Assert.Equal(0, client.Failures);
    }

    [Fact]
    public void Tcp_records_reach_a_listener()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var client = new SyslogClient(SyslogAddress.Parse($"tcp://127.0.0.1:{port}"), SyslogFacility.Parse("daemon"));
        client.Send(LogLevel.Debug, "gunicorn.x.error: [1] hi");
        using var accepted = listener.AcceptSocket();
        accepted.ReceiveTimeout = 5000;
        var buffer = new byte[1024];
        var received = new StringBuilder();
        while (!received.ToString().Contains((char)0, StringComparison.Ordinal))
        {
            var n = accepted.Receive(buffer);
            Assert.True(n > 0);
            received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }

        Assert.Equal("<31>gunicorn.x.error: [1] hi\0", received.ToString());
    }

    [Fact]
    public void An_absent_listener_is_counted_not_thrown()
    {
        using var dir = new TempDir();
        using var client = new SyslogClient(SyslogAddress.Parse("unix://" + dir.File("nobody.sock") + "#dgram"), 1);
        client.Send(LogLevel.Info, "lost");
        Assert.Equal(1, client.Failures);
    }
}
