using System.Runtime.InteropServices;
using System.Text;

namespace Unicorn.Wsgi.Interop;

internal static unsafe partial class Libc
{
    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;

    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Lib, EntryPoint = "bind", SetLastError = true)]
    private static partial int bind(int fd, byte* addr, uint len);

    /// <summary>
    /// Binds a unix socket to path. Done here rather than with Socket.Bind because a .NET Socket that
    /// bound a path deletes the file when disposed, which would pull the socket from under a USR2 master.
    /// Returns 0 or errno.
    /// </summary>
    public static int BindUnix(int fd, string path)
    {
        // struct sockaddr_un: sa_family_t (2 bytes) then sun_path[108], NUL-terminated.
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length >= 108)
        {
            return 36; // ENAMETOOLONG
        }

        var addr = stackalloc byte[110];
        new Span<byte>(addr, 110).Clear();
        *(ushort*)addr = AF_UNIX;
        bytes.CopyTo(new Span<byte>(addr + 2, 108));
        return bind(fd, addr, (uint)(2 + bytes.Length + 1)) == 0 ? 0 : Errno;
    }
}
