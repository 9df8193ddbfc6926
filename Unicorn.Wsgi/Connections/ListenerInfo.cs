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
    /// This worker's own slot of the master's reuse_port sockets: the kernel queues connections on it for this
    /// worker alone, so a graceful stop accepts what is queued before closing its copy. (The master keeps its
    /// copy for the replacement; where it has let go, after a TTOU, those connections would otherwise be reset.)
    /// </summary>
    public bool OwnedByWorker { get; init; }
}
