using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Unicorn.Wsgi.Logging;

/// <summary>
/// Sends records as Python's SysLogHandler does, which is what Gunicorn's syslog lines are: <c>&lt;PRI&gt;</c>,
/// the formatted record, a NUL byte, UTF-8, one datagram (or one stream write) per record. The tag is the
/// caller's (<c>gunicorn.PREFIX.error: [pid] msg</c>). Failures never reach the caller: a socket that breaks
/// is reconnected on the next record, and a record that cannot be sent is counted in <see cref="Failures"/>.
/// </summary>
public sealed class SyslogClient : IDisposable
{
    private readonly SyslogAddress _address;
    private readonly int _facility;
    private readonly Lock _lock = new();
    private EndPoint? _endPoint;
    private Socket? _socket;
    private long _failures;

    public SyslogClient(SyslogAddress address, int facility)
    {
        _address = address;
        _facility = facility;
    }

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Encodes one record, e.g. <c>&lt;11&gt;gunicorn.app.error: [42] boom\0</c>.</summary>
    public static byte[] Encode(int facility, LogLevel level, string message) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"<{SyslogFacility.Priority(facility, level)}>{message}\0"));

    public void Send(LogLevel level, string message)
    {
        var packet = Encode(_facility, level, message);
        lock (_lock)
        {
            for (var attempt = 0; attempt < 2; attempt++)
            {
                try
                {
                    _socket ??= Connect();
                    if (_socket.SocketType == SocketType.Dgram && _endPoint is not null && !_socket.Connected)
                    {
                        _socket.SendTo(packet, _endPoint);
                    }
                    else
                    {
                        _socket.Send(packet);
                    }

                    return;
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    _socket?.Dispose();
                    _socket = null;
                }
            }

            _failures++;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _socket?.Dispose();
            _socket = null;
        }
    }

    private Socket Connect()
    {
        switch (_address.Transport)
        {
            case SyslogTransport.Udp:
                {
                    var ip = Resolve(_address.Host);
                    _endPoint = new IPEndPoint(ip, _address.Port);
                    return new Socket(ip.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
                }

            case SyslogTransport.Tcp:
                {
                    var ip = Resolve(_address.Host);
                    var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { SendTimeout = 1000, NoDelay = true };
                    return ConnectOrDispose(socket, new IPEndPoint(ip, _address.Port));
                }

            case SyslogTransport.UnixDatagram:
                return ConnectOrDispose(new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified), new UnixDomainSocketEndPoint(_address.Path!));

            case SyslogTransport.UnixStream:
                return ConnectOrDispose(new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { SendTimeout = 1000 }, new UnixDomainSocketEndPoint(_address.Path!));

            default:
                try
                {
                    return ConnectOrDispose(new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified), new UnixDomainSocketEndPoint(_address.Path!));
                }
                catch (SocketException) // EPROTOTYPE: the listener is a stream socket
                {
                    return ConnectOrDispose(new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { SendTimeout = 1000 }, new UnixDomainSocketEndPoint(_address.Path!));
                }
        }
    }

    private static Socket ConnectOrDispose(Socket socket, EndPoint endPoint)
    {
        try
        {
            socket.Connect(endPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static IPAddress Resolve(string host)
    {
        if (IPAddress.TryParse(host, out var ip))
        {
            return ip;
        }

        var addresses = Dns.GetHostAddresses(host);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
    }
}
