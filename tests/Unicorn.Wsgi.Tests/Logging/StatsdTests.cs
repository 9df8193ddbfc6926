using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Tests.Logging;

public sealed class StatsdTests : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    public StatsdTests()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.ReceiveTimeout = 5000;
    }

    private StatsdAddress Host => StatsdAddress.Parse($"127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}");

    public void Dispose() => _listener.Dispose();

    private string Receive()
    {
        var buffer = new byte[2048];
        var n = _listener.Receive(buffer);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    [Fact]
    public void Request_metrics_have_gunicorns_names_types_and_values()
    {
        using var statsd = new StatsdClient(Host, "myapp");
        statsd.Access(404, new TimeSpan(0, 0, 0, 1, 2, 500));
        Assert.Equal("myapp.gunicorn.request.duration:1002.5|ms", Receive());
        Assert.Equal("myapp.gunicorn.requests:1|c|@1.0", Receive());
        Assert.Equal("myapp.gunicorn.request.status.404:1|c|@1.0", Receive());
    }

    [Fact]
    public void Whole_milliseconds_keep_pythons_trailing_zero()
    {
        using var statsd = new StatsdClient(Host);
        statsd.Access(200, TimeSpan.FromMilliseconds(12));
        Assert.Equal("gunicorn.request.duration:12.0|ms", Receive());
    }

    [Fact]
    public void Gauge_log_counters_and_dogstatsd_tags()
    {
        using var statsd = new StatsdClient(Host, "svc...", "env:prod,app:x");
        statsd.Gauge("gunicorn.workers", 4);
        Assert.Equal("svc.gunicorn.workers:4|g|#env:prod,app:x", Receive());
        using var dir = new TempDir();
        using var log = new ErrorLog(LogFile.Open(dir.File("e.log"), LogFile.Stderr), LogLevel.Critical, statsd: statsd);
        ((IErrorLog)log).Warning("not written at level critical, still counted");
        Assert.Equal("svc.gunicorn.log.warning:1|c|@1.0|#env:prod,app:x", Receive());
        ((IErrorLog)log).Exception("boom", "Traceback");
        Assert.Equal("svc.gunicorn.log.exception:1|c|@1.0|#env:prod,app:x", Receive());
        ((IErrorLog)log).Info("info is not counted");
        statsd.Decrement("x", 2);
        Assert.Equal("svc.x:-2|c|@1.0|#env:prod,app:x", Receive());
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("app", "app.")]
    [InlineData("app.", "app.")]
    [InlineData("a.b..", "a.b.")]
    public void Prefix_gets_one_trailing_dot(string prefix, string normalized) =>
        Assert.Equal(normalized, StatsdClient.NormalizePrefix(prefix));

    [Theory]
    [InlineData("localhost:8125", "localhost", 8125, null)]
    [InlineData("LocalHost", "localhost", 8125, null)]
    [InlineData("tcp://h:5", "h", 5, null)]
    [InlineData("[::1]:9125", "::1", 9125, null)]
    [InlineData("[::1]", "::1", 8125, null)]
    [InlineData("unix:8125", "unix", 8125, null)]
    [InlineData("unix:///run/statsd.sock", "", 0, "/run/statsd.sock")]
    [InlineData("unix:/run/statsd.sock", "", 0, "/run/statsd.sock")]
    public void Addresses_parse_as_gunicorns_validator(string text, string host, int port, string? path) =>
        Assert.Equal(new StatsdAddress(text, host, port, path), StatsdAddress.Parse(text));

    [Theory]
    [InlineData("localhost:port")]
    [InlineData(":8125")]
    [InlineData("unix://")]
    [InlineData("fd://3")]
    [InlineData("a:1:2")]
    [InlineData("localhost:70000")]
    public void Unusable_addresses_are_refused_with_gunicorns_message(string text) =>
        Assert.Equal(StatsdAddress.Problem, Assert.Throws<FormatException>(() => StatsdAddress.Parse(text)).Message);

    [Fact]
    public void Unix_datagram_socket_receives_metrics()
    {
        using var dir = new TempDir();
        var path = dir.File("statsd.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.ReceiveTimeout = 5000;
        using var statsd = new StatsdClient(StatsdAddress.Parse("unix://" + path));
        statsd.Increment("gunicorn.requests");
        var buffer = new byte[256];
        Assert.Equal("gunicorn.requests:1|c|@1.0", Encoding.ASCII.GetString(buffer, 0, listener.Receive(buffer)));
    }

    [Fact]
    public void No_collector_never_throws()
    {
        using var dir = new TempDir();
        using var statsd = new StatsdClient(StatsdAddress.Parse("unix://" + dir.File("absent.sock")));
        statsd.Increment("gunicorn.requests");
        Assert.Equal(1, statsd.Failures);
    }
}
