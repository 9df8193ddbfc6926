using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static partial class Libc
{
    public const int F_GETFD = 1;
    public const int F_SETFD = 2;
    public const int FD_CLOEXEC = 1;

    public const int O_WRONLY = 0x1;
    public const int O_CREAT = 0x40;
    public const int O_APPEND = 0x400;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    /// <summary>Sets or clears FD_CLOEXEC: a listener must survive exec into a worker or a new master.</summary>
    public static void SetInheritable(int fd, bool inheritable)
    {
        var flags = fcntl(fd, F_GETFD, 0);
        if (flags < 0)
        {
            throw new IOException($"fcntl(F_GETFD) on fd {fd}: {StrError(Errno)}");
        }

        var wanted = inheritable ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC;
        if (wanted != flags && fcntl(fd, F_SETFD, wanted) < 0)
        {
            throw new IOException($"fcntl(F_SETFD) on fd {fd}: {StrError(Errno)}");
        }
    }

    public static bool IsInheritable(int fd)
    {
        var flags = fcntl(fd, F_GETFD, 0);
        return flags >= 0 && (flags & FD_CLOEXEC) == 0;
    }

    /// <summary>True when fd is an open descriptor in this process.</summary>
    public static bool IsOpen(int fd) => fcntl(fd, F_GETFD, 0) >= 0;
}
