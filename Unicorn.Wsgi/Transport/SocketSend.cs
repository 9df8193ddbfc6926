using System.Net.Sockets;

namespace Unicorn.Wsgi.Transport;

/// <summary>
/// Blocking writes from an app thread straight to the kernel with send(2)/sendmsg(2), for responses on plain
/// TCP and Unix sockets: the worker's way to a socket, as <see cref="SendFile"/> is for file bodies.
/// </summary>
internal static class SocketSend
{
    /// <summary>
    /// How long a response write waits for a client that takes no bytes before it fails and the connection is
    /// given up on, on every transport (plain sockets here, TLS by SO_SNDTIMEO, HTTP/2 streams by their sink): a
    /// client that stops reading must not hold an app thread for good.
    /// </summary>
    public static readonly TimeSpan StalledClientTimeout = TimeSpan.FromMilliseconds(Interop.Sys.StalledSendMilliseconds);

    /// <summary>Sends <paramref name="head"/>, <paramref name="body"/> and <paramref name="tail"/> (any may be empty) in one gather write.</summary>
    /// <exception cref="IOException">the peer went away or the socket failed.</exception>
    public static void SendAll(Socket socket, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, ReadOnlySpan<byte> tail = default)
    {
        try
        {
            Interop.Sys.SendAll(socket.SafeHandle, head, body, tail);
        }
        catch (ObjectDisposedException e)
        {
            throw Closed(e);
        }
    }

    /// <summary>Sends all of <paramref name="data"/>, waiting while the socket is full.</summary>
    /// <exception cref="IOException">the peer went away or the socket failed.</exception>
    public static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        try
        {
            Interop.Sys.SendAll(socket.SafeHandle, data);
        }
        catch (ObjectDisposedException e)
        {
            throw Closed(e);
        }
    }

    /// <summary>One send that never waits: the bytes the socket took (0 when full).</summary>
    /// <exception cref="IOException">the peer went away or the socket failed.</exception>
    public static int SendNow(Socket socket, ReadOnlySpan<byte> data)
    {
        try
        {
            return Interop.Sys.SendNow(socket.SafeHandle, data);
        }
        catch (ObjectDisposedException e)
        {
            throw Closed(e);
        }
    }

    /// <summary>
    /// The worker closed the connection while the app was still producing its response (a quick stop, INT or QUIT,
    /// closes every connection at once): for the app's thread that is a client gone like any other, not a .NET error
    /// to log with the request (P/Invoke refuses a closed SafeHandle with ObjectDisposedException).
    /// </summary>
    private static IOException Closed(ObjectDisposedException e) => new("the connection was closed by the server", e);
}
