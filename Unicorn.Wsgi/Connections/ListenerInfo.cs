using System.Net;
using System.Net.Sockets;

namespace Unicorn.Wsgi.Connections;

/// <summary>A listening socket and what requests accepted on it report as SERVER_NAME/PORT.</summary>
public sealed class ListenerInfo
{
    public ListenerInfo(Socket socket, string scheme = "http")
    {
        Socket = socket;
        Scheme = scheme;
        switch (socket.LocalEndPoint)
        {
            case IPEndPoint ip:
                ServerName = ip.Address.ToString();
                ServerPort = ip.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
                break;
            case UnixDomainSocketEndPoint unix:
                ServerName = unix.ToString();
                ServerPort = "";
                break;
            default:
                ServerName = "";
                ServerPort = "";
                break;
        }
    }

    public Socket Socket { get; }

    public string Scheme { get; }

    public string ServerName { get; }

    public string ServerPort { get; }

    public bool IsUnix => Socket.AddressFamily == AddressFamily.Unix;

    /// <summary>
    /// A socket this worker bound itself (reuse_port): the kernel queues connections on it for this
    /// worker alone, so a graceful stop accepts what is queued and closes it, instead of leaving those
    /// connections to be reset when the process exits.
    /// </summary>
    public bool OwnedByWorker { get; init; }
}
