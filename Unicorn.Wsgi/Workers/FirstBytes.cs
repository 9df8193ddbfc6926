using System.Net.Sockets;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// How an app thread that accepted a connection waits for its request before handing it to the epoll thread
/// (<see cref="IdleAcceptor"/>, <see cref="ThreadedAcceptor"/>): a proxy connects, then writes, so the request
/// usually comes tens of microseconds after the accept, and waiting for it serves it on the accepting thread.
/// </summary>
internal static class FirstBytes
{
    /// <summary>
    /// Waits up to <paramref name="waitUs"/> for <paramref name="client"/>'s first bytes. After a wait that timed
    /// out (<paramref name="lastTimedOut"/>, the calling thread's own) it only looks: a run of connections that send
    /// nothing (a flood of idle ones) then costs the thread one wait, not one each, until one brings its bytes.
    /// </summary>
    public static void Wait(Socket client, int waitUs, ref bool lastTimedOut)
    {
        try
        {
            // poll(2) returns at once when the request is already there (wrk's, usually).
            var arrived = client.Poll(lastTimedOut ? 0 : waitUs, SelectMode.SelectRead);
            lastTimedOut = !arrived;
        }
        catch (SocketException)
        {
            // The connection's first read reports it.
        }
    }
}
