using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Transport.Listeners;

/// <summary>systemd socket activation (<c>LISTEN_FDS</c>/<c>LISTEN_PID</c>) and <c>sd_notify</c>.</summary>
public static class Systemd
{
    public const int ListenFdsStart = 3;

    /// <summary>
    /// Set in the master's environment by the program's own PID-1 init (<c>ProcessContract/Pid1Init</c>): sockets
    /// passed to PID 1 (LISTEN_PID=1, podman's socket activation) are the master's, its parent being their owner.
    /// </summary>
    public const string Pid1ChildMarker = "UNICORN_PID1_INIT";

    /// <summary>
    /// The number of sockets systemd passed to this process (fds 3, 4, ...), or 0. As sd_listen_fds(3)
    /// with unset_environment, the variables are removed so children do not take them for their own.
    /// </summary>
    public static int ListenFds(bool unsetEnvironment = true)
    {
        var pid = Environment.GetEnvironmentVariable("LISTEN_PID");
        var fds = Environment.GetEnvironmentVariable("LISTEN_FDS");
        var fromInit = Environment.GetEnvironmentVariable(Pid1ChildMarker) == "1" && Libc.getppid() == 1;
        Environment.SetEnvironmentVariable(Pid1ChildMarker, null);
        if (unsetEnvironment)
        {
            Environment.SetEnvironmentVariable("LISTEN_PID", null);
            Environment.SetEnvironmentVariable("LISTEN_FDS", null);
            Environment.SetEnvironmentVariable("LISTEN_FDNAMES", null);
        }

        if (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || (p != Environment.ProcessId && !(fromInit && p == 1)))
        {
            return 0;
        }

        return int.TryParse(fds, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    /// <summary>Sends a state ("READY=1", "STOPPING=1") to NOTIFY_SOCKET when systemd set one.</summary>
    public static void Notify(string state, IErrorLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        if (path[0] == '@')
        {
            path = "\0" + path[1..];
        }

        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send(Encoding.UTF8.GetBytes(state));
        }
        catch (SocketException e)
        {
            log.Debug("Exception while invoking sd_notify(): " + e.Message);
        }
    }
}
