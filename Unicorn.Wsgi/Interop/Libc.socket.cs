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
            return ENAMETOOLONG;
        }

        var addr = stackalloc byte[110];
        new Span<byte>(addr, 110).Clear();
        *(ushort*)addr = AF_UNIX;
        bytes.CopyTo(new Span<byte>(addr + 2, 108));
        return bind(fd, addr, (uint)(2 + bytes.Length + 1)) == 0 ? 0 : Errno;
    }

    public const int ENAMETOOLONG = 36;
    public const int SOL_SOCKET = 1;
    public const int SCM_RIGHTS = 1;
    public const int MSG_NOSIGNAL = 0x4000;

    [LibraryImport(Lib, EntryPoint = "socketpair", SetLastError = true)]
    private static partial int socketpair(int domain, int type, int protocol, int* sv);

    [LibraryImport(Lib, EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint sendmsg_raw(int fd, MsgHdr* msg, int flags);

    /// <summary>A connected AF_UNIX stream pair, both ends close-on-exec; throws on failure.</summary>
    public static (int First, int Second) SocketPair()
    {
        var sv = stackalloc int[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        {
            throw new IOException("socketpair: " + StrError(Errno));
        }

        return (sv[0], sv[1]);
    }

    /// <summary>
    /// Sends <paramref name="data"/> on a unix stream socket with <paramref name="fds"/> attached as
    /// SCM_RIGHTS (on the first chunk), then the rest; throws on failure.
    /// </summary>
    public static void SendWithFds(int socket, ReadOnlySpan<byte> data, ReadOnlySpan<int> fds)
    {
        // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } + the ints, padded to 8 bytes.
        const int header = 16;
        if (fds.Length is 0 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(fds), "1 to 64 descriptors");
        }

        var controlLength = header + ((fds.Length * sizeof(int) + 7) & ~7);
        var control = stackalloc byte[controlLength];
        new Span<byte>(control, controlLength).Clear();
        *(nuint*)control = (nuint)(header + fds.Length * sizeof(int)); // CMSG_LEN
        *(int*)(control + 8) = SOL_SOCKET;
        *(int*)(control + 12) = SCM_RIGHTS;
        fds.CopyTo(new Span<int>(control + header, fds.Length));
        var first = true;
        fixed (byte* start = data)
        {
            var sent = 0;
            while (sent < data.Length)
            {
                var iov = new IoVec { Base = start + sent, Length = (nuint)(data.Length - sent) };
                var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = first ? control : null, ControlLen = first ? (nuint)controlLength : 0u };
                var n = sendmsg_raw(socket, &msg, MSG_NOSIGNAL);
                if (n < 0)
                {
                    if (Errno == EINTR)
                    {
                        continue;
                    }

                    throw new IOException("sendmsg: " + StrError(Errno));
                }

                first = false;
                sent += (int)n;
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }
}
