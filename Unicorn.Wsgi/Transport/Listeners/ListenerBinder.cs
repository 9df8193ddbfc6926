using System.Net;
using System.Net.Sockets;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Transport.Listeners;

/// <summary>
/// Creates the listening sockets: binds addresses (retrying a busy port as Gunicorn does), adopts
/// inherited fds (<c>fd://N</c>, <c>GUNICORN_FD</c>, systemd), and leaves every listener inheritable so
/// workers and a re-executed master receive it by fd number.
/// </summary>
public static class ListenerBinder
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private const int SoReusePort = 15;

    /// <summary>
    /// Binds every address in order. On failure, closes (and unlinks) what was already bound, logs
    /// Gunicorn's retry lines and throws <see cref="ListenerException"/> with "Can't connect to ...",
    /// which the caller logs (once).
    /// </summary>
    public static List<Listener> Bind(IEnumerable<ListenAddress> addresses, ListenerOptions options, IErrorLog log, bool listen = true)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        var listeners = new List<Listener>();
        try
        {
            foreach (var address in addresses)
            {
                listeners.Add(address.Kind == ListenAddressKind.Fd
                    ? Adopt(address.Fd, options, ownsUnixPath: false)
                    : BindWithRetry(address, options, log, listen));
            }
        }
        catch
        {
            foreach (var listener in listeners)
            {
                listener.Close(unlink: true);
            }

            throw;
        }

        return listeners;
    }

    private static Listener BindWithRetry(ListenAddress address, ListenerOptions options, IErrorLog log, bool listen)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return BindOnce(address, options, listen);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse)
            {
                // Gunicorn 26.1's lines and counts exactly: every attempt, the last included, logs both errors and
                // is followed by the wait (its "Retrying in 1 second." at debug); the caller logs the final
                // "Can't connect to ...".
                log.Error("Connection in use: " + address.ToPythonRepr());
                log.Error($"connection to {address.ToPythonRepr()} failed: [Errno 98] Address already in use");
                log.Debug("Retrying in 1 second.");
                Thread.Sleep(options.RetryDelay);
                if (attempt >= options.BindAttempts)
                {
                    throw new ListenerException("Can't connect to " + address.ToPythonRepr());
                }
            }
            catch (SocketException e)
            {
                // Not worth retrying (no such address, permission denied): fail now, one line with the reason.
                var reason = e.SocketErrorCode == SocketError.AddressNotAvailable ? "Invalid address" : e.Message;
                throw new ListenerException($"Can't connect to {address.ToPythonRepr()}: {reason}");
            }
        }
    }

    private static Listener BindOnce(ListenAddress address, ListenerOptions options, bool listen)
    {
        return address.Kind == ListenAddressKind.Unix ? BindUnix(address.Path, options, listen) : BindTcp(address, options, listen);
    }

    private static Listener BindTcp(ListenAddress address, ListenerOptions options, bool listen)
    {
        var ip = Resolve(address);
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Raw options: .NET's ReuseAddress also sets SO_REUSEPORT on Linux, which would let a second
            // server bind the same port silently.
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            if (options.ReusePort)
            {
                socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            }

            if (ip.AddressFamily == AddressFamily.InterNetworkV6)
            {
                // .NET turns IPV6_V6ONLY on; Python leaves the kernel's default, so Gunicorn's '[::]:8000' also
                // takes IPv4 clients (nginx's 'uwsgi_pass 127.0.0.1:8000') where net.ipv6.bindv6only is 0.
                socket.DualMode = !KernelBindsV6Only();
            }

            socket.NoDelay = true;
            socket.Bind(new IPEndPoint(ip, address.Port));
            if (listen)
            {
                socket.Listen(options.Backlog);
            }

            Libc.SetInheritable(FdOf(socket), true);
            return new Listener(socket, isSsl: options.IsSsl);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static bool KernelBindsV6Only()
    {
        try
        {
            return File.ReadAllText("/proc/sys/net/ipv6/bindv6only").Trim() == "1";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static IPAddress Resolve(ListenAddress address)
    {
        if (address.Host.Length == 0)
        {
            return IPAddress.Any;
        }

        if (IPAddress.TryParse(address.Host, out var literal))
        {
            return literal;
        }

        IPAddress[] found;
        try
        {
            found = Dns.GetHostAddresses(address.Host);
        }
        catch (SocketException)
        {
            found = [];
        }

        // Python binds an AF_INET socket for a host name, so the name must have an IPv4 address.
        return Array.Find(found, a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? throw new ListenerException($"Can't connect to {address.ToPythonRepr()}: unknown host '{address.Host}'");
    }

    private static Listener BindUnix(string path, ListenerOptions options, bool listen)
    {
        var full = Path.GetFullPath(path);
        RemoveStaleSocket(full);
        var fd = Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new ListenerException($"Can't create a socket for unix:{path}: {Libc.StrError(Libc.Errno)}");
        }

        var old = Libc.umask((uint)options.Umask);
        var error = Libc.BindUnix(fd, full);
        if (error == Libc.ENAMETOOLONG && path != full)
        {
            // A relative path in a directory deeper than sun_path holds: bound by the name given, as Gunicorn binds it.
            error = Libc.BindUnix(fd, path);
        }

        Libc.umask(old);
        if (error != 0)
        {
            Libc.close(fd);
            throw new ListenerException($"Can't connect to {path}: {Libc.StrError(error)}");
        }

        var socket = FromFd(fd);
        try
        {
            if ((options.Uid is { } || options.Gid is { })
                && Libc.chown(full, options.Uid ?? uint.MaxValue, options.Gid ?? uint.MaxValue) != 0)
            {
                throw new ListenerException($"Can't change the owner of {path}: {Libc.StrError(Libc.Errno)}");
            }

            if (listen)
            {
                socket.Listen(options.Backlog);
            }

            Libc.SetInheritable(fd, true);
            return new Listener(socket, unixPath: full) { BoundAs = path };
        }
        catch
        {
            socket.Dispose();
            File.Delete(full);
            throw;
        }
    }

    /// <summary>A socket file left by a previous run is replaced; any other file is an error.</summary>
    private static void RemoveStaleSocket(string path)
    {
        if (Libc.GetFileMode(path) is not { } mode)
        {
            return;
        }

        if (!Libc.IsSocketMode(mode))
        {
            throw new ListenerException($"'{path}' is not a socket");
        }

        File.Delete(path);
    }

    /// <summary>Wraps an inherited listening fd (fd://N, GUNICORN_FD, LISTEN_FDS) as a listener.</summary>
    public static Listener Adopt(int fd, ListenerOptions options, bool ownsUnixPath)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Libc.IsOpen(fd))
        {
            throw new ListenerException($"fd://{fd}: no such open file descriptor");
        }

        Socket socket;
        try
        {
            socket = FromFd(fd);
        }
        catch (SocketException e)
        {
            throw new ListenerException($"fd://{fd}: not a socket ({e.Message})");
        }

        if (socket.SocketType != SocketType.Stream)
        {
            socket.Dispose();
            throw new ListenerException($"fd://{fd}: not a stream socket");
        }

        Libc.SetInheritable(fd, true);
        var path = ownsUnixPath && socket.LocalEndPoint is UnixDomainSocketEndPoint unix ? unix.ToString() : null;
        return new Listener(socket, path, socket.AddressFamily != AddressFamily.Unix && options.IsSsl);
    }

    /// <summary>A Socket over an fd this process inherited; the Socket owns the fd from now on.</summary>
    public static Socket FromFd(int fd) => new(new SafeSocketHandle(fd, ownsHandle: true));

    public static int FdOf(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return (int)socket.SafeHandle.DangerousGetHandle();
    }
}
