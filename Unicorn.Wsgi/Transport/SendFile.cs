using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Unicorn.Wsgi.Transport;

/// <summary>Zero-copy file-to-socket transfer with sendfile(2), for wsgi.file_wrapper without TLS.</summary>
internal static class SendFile
{
    /// <summary>Sends count bytes of file from offset; returns the bytes sent (less when the peer left).</summary>
    public static long Send(Socket socket, SafeFileHandle file, long offset, long count)
    {
        var sent = 0L;
        var position = offset;
        while (sent < count)
        {
            var chunk = (nint)Math.Min(count - sent, 1 << 30);
            nint n;
            try
            {
                n = Interop.Sys.SendFile(socket.SafeHandle, file, ref position, chunk);
            }
            catch (ObjectDisposedException) when (socket.SafeHandle.IsClosed)
            {
                return sent; // the worker closed the connection (a quick stop): as a peer that left
            }

            if (n <= 0)
            {
                return sent;
            }

            sent += n;
        }

        return sent;
    }
}
