using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static partial class Sys
{
    private const int MSG_NOSIGNAL = 0x4000;

    // ssize_t send(int sockfd, const void *buf, size_t len, int flags);  <sys/socket.h>
    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint send(SafeHandle sockfd, byte* buf, nint len, int flags);

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
