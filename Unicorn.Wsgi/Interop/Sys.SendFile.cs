using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static partial class Sys
{
    // ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count);  <sys/sendfile.h>
    [LibraryImport("libc", EntryPoint = "sendfile", SetLastError = true)]
    private static partial nint sendfile(SafeHandle outFd, SafeHandle inFd, ref long offset, nint count);

    private const short PollOut = 0x004;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    // int poll(struct pollfd *fds, nfds_t nfds, int timeout);  <poll.h>
    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int poll(ref PollFd fds, nuint nfds, int timeout);

    /// <summary>How long a send may wait for a client that takes no bytes before it fails: a stuck client must not hold the thread forever.</summary>
    public const int StalledSendMilliseconds = 30_000;

    /// <summary>Waits (up to <see cref="StalledSendMilliseconds"/>) until the socket can take more.</summary>
    private static bool WaitWritable(SafeHandle socket)
    {
        var fd = new PollFd { Fd = (int)socket.DangerousGetHandle(), Events = PollOut };
        return poll(ref fd, 1, StalledSendMilliseconds) > 0;
    }

    /// <summary>sendfile(2), retried on EINTR/EAGAIN; -1 on other errors.</summary>
    public static nint SendFile(SafeHandle socket, SafeHandle file, ref long offset, nint count)
    {
        while (true)
        {
            var n = sendfile(socket, file, ref offset, count);
            if (n >= 0)
            {
                return n;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno is not (4 or 11))
            {
                return -1;
            }

            // EAGAIN: .NET keeps sockets non-blocking; wait until this one can take more.
            if (!WaitWritable(socket))
            {
                return -1;
            }
        }
    }
}
