using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static partial class Sys
{
    private const int MSG_NOSIGNAL = 0x4000;
    private const int MSG_DONTWAIT = 0x40;

    // ssize_t send(int sockfd, const void *buf, size_t len, int flags);  <sys/socket.h>
    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint send(SafeHandle sockfd, byte* buf, nint len, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVec
    {
        public byte* Base;
        public nint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct MsgHdr
    {
        public void* Name;
        public int NameLength;
        public IoVec* Iov;
        public nint IovLength;
        public void* Control;
        public nint ControlLength;
        public int Flags;
    }

    // ssize_t sendmsg(int sockfd, const struct msghdr *msg, int flags);  <sys/socket.h>
    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static unsafe partial nint sendmsg(SafeHandle sockfd, MsgHdr* msg, int flags);

    /// <summary>Sends <paramref name="head"/> then <paramref name="body"/> in one gather write.</summary>
    /// <exception cref="IOException">the peer went away or the socket failed.</exception>
    public static void SendAll(SafeHandle socket, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body) => SendAll(socket, head, body, []);

    /// <summary>
    /// Sends <paramref name="head"/>, <paramref name="body"/> and <paramref name="tail"/> with sendmsg(2), as one
    /// gather write: one syscall, and no separate small segment for a response head in front of a large body
    /// or a chunk's CRLF behind it. Empty parts are skipped.
    /// </summary>
    /// <exception cref="IOException">the peer went away or the socket failed.</exception>
    public static unsafe void SendAll(SafeHandle socket, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, ReadOnlySpan<byte> tail)
    {
        fixed (byte* h = head)
        fixed (byte* b = body)
        fixed (byte* t = tail)
        {
            var iov = stackalloc IoVec[3];
            var count = 0;
            if (!head.IsEmpty)
            {
                iov[count++] = new IoVec { Base = h, Length = head.Length };
            }

            if (!body.IsEmpty)
            {
                iov[count++] = new IoVec { Base = b, Length = body.Length };
            }

            if (!tail.IsEmpty)
            {
                iov[count++] = new IoVec { Base = t, Length = tail.Length };
            }

            var first = 0;
            while (first < count)
            {
                var msg = new MsgHdr { Iov = iov + first, IovLength = count - first };
                var n = sendmsg(socket, &msg, MSG_NOSIGNAL);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == 4)
                    {
                        continue; // EINTR
                    }

                    if (errno != 11 || !WaitWritable(socket))
                    {
                        throw new IOException($"sendmsg failed (errno {errno})");
                    }

                    continue;
                }

                // Skip what went out: whole vectors first, then into the one it stopped in.
                while (first < count && n >= iov[first].Length)
                {
                    n -= iov[first].Length;
                    first++;
                }

                if (first < count)
                {
                    iov[first].Base += n;
                    iov[first].Length -= n;
                }
            }
        }
    }

    /// <summary>
    /// One send(2) that never waits (MSG_DONTWAIT): the bytes the socket took, 0 when it is full.
    /// </summary>
    /// <exception cref="IOException">the peer went away or the socket failed.</exception>
    public static unsafe int SendNow(SafeHandle socket, ReadOnlySpan<byte> data)
    {
        fixed (byte* start = data)
        {
            while (true)
            {
                var n = send(socket, start, data.Length, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n >= 0)
                {
                    return (int)n;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == 4)
                {
                    continue; // EINTR
                }

                if (errno == 11)
                {
                    return 0; // EAGAIN: full
                }

                throw new IOException($"send failed (errno {errno})");
            }
        }
    }

    /// <summary>
    /// send(2) until all of <paramref name="data"/> is out, waiting with poll(2) when the socket is full.
    /// The app thread writes straight to the kernel: .NET's synchronous Send on a socket it made
    /// non-blocking parks on its epoll thread for every partial write, which costs a large body dearly.
    /// </summary>
    /// <exception cref="IOException">the peer went away or the socket failed.</exception>
    public static unsafe void SendAll(SafeHandle socket, ReadOnlySpan<byte> data)
    {
        fixed (byte* start = data)
        {
            var sent = 0;
            while (sent < data.Length)
            {
                var n = send(socket, start + sent, data.Length - sent, MSG_NOSIGNAL);
                if (n > 0)
                {
                    sent += (int)n;
                    continue;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == 4)
                {
                    continue; // EINTR
                }

                if (errno != 11 || !WaitWritable(socket))
                {
                    throw new IOException($"send failed (errno {errno})");
                }
            }
        }
    }
}
