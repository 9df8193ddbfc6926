using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Transport.Listeners;

namespace Unicorn.Wsgi.Tests.Arbiter;

public class SystemdTests
{
    private sealed class NullLog : IErrorLog
    {
        public bool IsEnabled(LogLevel level) => false;

        public void Log(LogLevel level, string message)
        {
        }
    }

    [Fact]
    public void NotifySendsReadyToNotifySocket()
    {
        var path = Path.Combine(Path.GetTempPath(), "unicorn-notify-" + Guid.NewGuid().ToString("N"));
        using var receiver = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        receiver.Bind(new UnixDomainSocketEndPoint(path));
        var old = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", path);
        try
        {
            Systemd.Notify("READY=1\nSTATUS=x", new NullLog());
            var buffer = new byte[256];
            receiver.ReceiveTimeout = 5000;
            var n = receiver.Receive(buffer);
            Assert.Equal("READY=1\nSTATUS=x", Encoding.UTF8.GetString(buffer, 0, n));
        }
        finally
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", old);
            File.Delete(path);
        }
    }

    [Fact]
    public void ListenFdsCountsOnlyForThisPidAndUnsetsTheVariables()
    {
        Environment.SetEnvironmentVariable("LISTEN_PID", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Environment.SetEnvironmentVariable("LISTEN_FDS", "2");
        Assert.Equal(2, Systemd.ListenFds());
        Assert.Null(Environment.GetEnvironmentVariable("LISTEN_FDS"));

        Environment.SetEnvironmentVariable("LISTEN_PID", "1");
        Environment.SetEnvironmentVariable("LISTEN_FDS", "2");
        Assert.Equal(0, Systemd.ListenFds());
    }
}
