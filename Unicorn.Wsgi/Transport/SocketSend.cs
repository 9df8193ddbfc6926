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
    public static void SendAll(Socket socket, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, ReadOnlySpan<byte> tail = default) =>
        Interop.Sys.SendAll(socket.SafeHandle, head, body, tail);

    /// <summary>Sends all of <paramref name="data"/>, waiting while the socket is full.</summary>
    /// <exception cref="IOException">the peer went away or the socket failed.</exception>
    public static void SendAll(Socket socket, ReadOnlySpan<byte> data) => Interop.Sys.SendAll(socket.SafeHandle, data);

    /// <summary>One send that never waits: the bytes the socket took (0 when full).</summary>
    /// <exception cref="IOException">the peer went away or the socket failed.</exception>
    public static int SendNow(Socket socket, ReadOnlySpan<byte> data) => Interop.Sys.SendNow(socket.SafeHandle, data);
}
