using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static partial class Libc
{
    [LibraryImport(Lib)]
    public static partial int getpid();

    [LibraryImport(Lib)]
    public static partial int isatty(int fd);

    [LibraryImport(Lib)]
    public static partial int getppid();

    [LibraryImport(Lib)]
    public static partial uint getuid();

    [LibraryImport(Lib)]
    public static partial uint geteuid();

    [LibraryImport(Lib)]
    public static partial uint getgid();

    [LibraryImport(Lib)]
    public static partial uint getegid();

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setsid();

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setuid(uint uid);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setgid(uint gid);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int dup2(int oldfd, int newfd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Lib, EntryPoint = "pipe2", SetLastError = true)]
    private static unsafe partial int pipe2(int* fds, int flags);

    /// <summary>A pipe, both ends close-on-exec and non-blocking; throws on failure.</summary>
    public static unsafe (int Read, int Write) Pipe()
    {
        var fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        {
            throw new IOException("pipe2: " + StrError(Errno));
        }

        return (fds[0], fds[1]);
    }

    [LibraryImport(Lib, SetLastError = true)]
    public static unsafe partial nint write(int fd, byte* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static unsafe partial nint read(int fd, byte* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchown(int fd, uint owner, uint group);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chown(string path, uint owner, uint group);

    /// <summary>Leaves at once, without .NET or Python shutdown: for a worker whose Python thread is stuck.</summary>
    [LibraryImport(Lib, EntryPoint = "_exit")]
    public static partial void _exit(int status);
}
