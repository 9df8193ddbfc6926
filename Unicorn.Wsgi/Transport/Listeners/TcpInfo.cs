using System.Runtime.InteropServices;
using System.Net.Sockets;

namespace Unicorn.Wsgi.Transport.Listeners;

/// <summary>Linux's <c>struct tcp_info</c> (include/uapi/linux/tcp.h), read with getsockopt(TCP_INFO).</summary>
public static class TcpInfo
{
    private const int IPPROTO_TCP = 6;
    private const int TCP_INFO = 11;

    // Eight one-byte fields (tcpi_state ... the wscale bits), then u32s: rto, ato, snd_mss, rcv_mss, unacked.
    private const int UnackedOffset = 8 + (4 * 4);

    /// <summary>
    /// On a listening socket the kernel reports its accept queue's length in <c>tcpi_unacked</c>: the connections
    /// that finished the handshake and wait for accept(). Null when the socket gives no TCP_INFO.
    /// </summary>
    public static int? WaitingToBeAccepted(Socket listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        Span<byte> info = stackalloc byte[104];
        try
        {
            var length = listener.GetRawSocketOption(IPPROTO_TCP, TCP_INFO, info);
            return length >= UnackedOffset + 4 ? (int)MemoryMarshal.Read<uint>(info[UnackedOffset..]) : null;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return null;
        }
    }
}
