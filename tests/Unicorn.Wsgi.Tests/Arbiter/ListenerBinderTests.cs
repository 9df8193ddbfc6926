using System.Net;
using System.Net.Sockets;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Transport.Listeners;

namespace Unicorn.Wsgi.Tests.Arbiter;

#pragma warning disable CA1416 // Linux only

public class ListenerBinderTests
{
    private static readonly ListenerOptions Fast = new() { RetryDelay = TimeSpan.FromMilliseconds(10) };

    private sealed class ListLog : IErrorLog
    {
        public List<string> Lines { get; } = [];

        public bool IsEnabled(LogLevel level) => true;

        public void Log(LogLevel level, string message)
        {
            lock (Lines)
            {
                Lines.Add(message);
            }
        }
    }

    [Fact]
    public void BindsTcpInheritableAndListening()
    {
        var log = new ListLog();
        var listeners = ListenerBinder.Bind([ListenAddress.Parse("127.0.0.1:0")], Fast, log);
        try
        {
            var listener = Assert.Single(listeners);
            Assert.True(Libc.IsInheritable(listener.Fd));
            var port = ((IPEndPoint)listener.Socket.LocalEndPoint!).Port;
            Assert.Equal($"http://127.0.0.1:{port}", listener.ToString());
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(IPAddress.Loopback, port);
        }
        finally
        {
            listeners.ForEach(l => l.Close(unlink: true));
        }
    }

    [Fact]
    public void BindsIpv6Loopback()
    {
        var listeners = ListenerBinder.Bind([ListenAddress.Parse("[::1]:0")], Fast, new ListLog());
        try
        {
            Assert.StartsWith("http://[::1]:", listeners[0].ToString(), StringComparison.Ordinal);
        }
        finally
        {
            listeners.ForEach(l => l.Close(unlink: true));
        }
    }

    [Fact]
    public void The_ipv6_wildcard_also_takes_ipv4_clients_as_the_kernel_default_says()
    {
        // Gunicorn's '[::]:8000' leaves IPV6_V6ONLY to net.ipv6.bindv6only (0 on most systems), so nginx's
        // 'uwsgi_pass 127.0.0.1:8000' or a curl to 127.0.0.1 reaches it; .NET sets the option on by default.
        if (File.ReadAllText("/proc/sys/net/ipv6/bindv6only").Trim() != "0")
        {
            return;
        }

        var listeners = ListenerBinder.Bind([ListenAddress.Parse("[::]:0")], Fast, new ListLog());
        try
        {
            var port = ((IPEndPoint)listeners[0].Socket.LocalEndPoint!).Port;
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(new IPEndPoint(IPAddress.Loopback, port));
        }
        finally
        {
            listeners.ForEach(l => l.Close(unlink: true));
        }
    }

    [Fact]
    public void BusyPortIsRetriedThenRefusedWithGunicornsLines()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        var port = ((IPEndPoint)holder.LocalEndPoint!).Port;
        var log = new ListLog();

        var e = Assert.Throws<ListenerException>(() => ListenerBinder.Bind([ListenAddress.Parse($"127.0.0.1:{port}")], Fast, log));

        // Gunicorn 26.1: five "Connection in use" each followed by "connection to ... failed" and, at debug,
        // "Retrying in 1 second.", then one "Can't connect to ..." (logged by the caller from the exception,
        // so it appears once).
        Assert.Equal($"Can't connect to ('127.0.0.1', {port})", e.Message);
        Assert.Equal(5, log.Lines.Count(l => l == $"Connection in use: ('127.0.0.1', {port})"));
        Assert.Equal(5, log.Lines.Count(l => l == $"connection to ('127.0.0.1', {port}) failed: [Errno 98] Address already in use"));
        Assert.Equal(5, log.Lines.Count(l => l == "Retrying in 1 second."));
        Assert.Equal("Retrying in 1 second.", log.Lines[^1]);
        Assert.DoesNotContain(log.Lines, l => l.StartsWith("Can't connect", StringComparison.Ordinal));
    }

    [Fact]
    public void FailedSecondBindLeavesNoUnixSocketBehind()
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-test-");
        var path = Path.Combine(dir.FullName, "a.sock");
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        var port = ((IPEndPoint)holder.LocalEndPoint!).Port;

        Assert.Throws<ListenerException>(() => ListenerBinder.Bind(
            [ListenAddress.Parse("unix:" + path), ListenAddress.Parse($"127.0.0.1:{port}")], Fast with { BindAttempts = 1 }, new ListLog()));

        Assert.False(File.Exists(path));
        dir.Delete(recursive: true);
    }

    [Fact]
    public void A_relative_unix_socket_prints_as_the_bind_gave_it_and_is_unlinked_by_its_full_path()
    {
        // cubed-tube's `bind = "unix:hermit-tube.socket"`: Gunicorn's "Listening at:" shows it as given.
        // Short: the socket is bound by its full path, which must fit sun_path (108 bytes) under a deep checkout.
        var name = $"u{Guid.NewGuid():N}"[..9] + ".s";
        var listeners = ListenerBinder.Bind([ListenAddress.Parse("unix:" + name)], Fast, new ListLog());
        try
        {
            Assert.Equal("unix:" + name, listeners[0].ToString());
            Assert.True(File.Exists(Path.GetFullPath(name)));
        }
        finally
        {
            listeners.ForEach(l => l.Close(unlink: true));
        }

        Assert.False(File.Exists(Path.GetFullPath(name)));
    }

    [Fact]
    public void UnixSocketTakesModeFromUmaskAndReplacesAStaleSocket()
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-test-");
        var path = Path.Combine(dir.FullName, "app.sock");
        var first = ListenerBinder.Bind([ListenAddress.Parse("unix:" + path)], Fast with { Umask = 0x3F /* 077 */ }, new ListLog());
        first.ForEach(l => l.Close(unlink: false));
        Assert.True(File.Exists(path));

        var second = ListenerBinder.Bind([ListenAddress.Parse("unix:" + path)], Fast with { Umask = 0x3F /* 077 */ }, new ListLog());
        try
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
            Assert.Equal("unix:" + path, second[0].ToString());
        }
        finally
        {
            second.ForEach(l => l.Close(unlink: true));
        }

        Assert.False(File.Exists(path));
        dir.Delete(recursive: true);
    }

    [Fact]
    public void RefusesToReplaceARegularFile()
    {
        var path = Path.GetTempFileName();
        var e = Assert.Throws<ListenerException>(() => ListenerBinder.Bind([ListenAddress.Parse("unix:" + path)], Fast, new ListLog()));
        Assert.Contains("is not a socket", e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(path));
        File.Delete(path);
    }

    [Fact]
    public void AdoptsAnInheritedFd()
    {
        using var original = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        original.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        original.Listen();
        var dup = Libc.fcntl(ListenerBinder.FdOf(original), 0 /* F_DUPFD */, 100);
        Assert.True(dup >= 100);

        using var adopted = ListenerBinder.Adopt(dup, Fast, ownsUnixPath: false);

        Assert.Equal(original.LocalEndPoint, adopted.Socket.LocalEndPoint);
        Assert.True(Libc.IsInheritable(dup));
    }

    [Fact]
    public void AdoptingAClosedFdIsAOneLineError()
    {
        var e = Assert.Throws<ListenerException>(() => ListenerBinder.Adopt(987, Fast, ownsUnixPath: false));
        Assert.Equal("fd://987: no such open file descriptor", e.Message);
    }
}
