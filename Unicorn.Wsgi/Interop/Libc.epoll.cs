using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static unsafe partial class Libc
{
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_MOD = 3;
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLONESHOT = 1u << 30;
    public const int ENOENT = 2;
    public const int EEXIST = 17;

    // struct epoll_event is packed on x86-64 (12 bytes, data at 4) and naturally aligned elsewhere (16, data at 8).
    private static readonly bool PackedEpollEvent = RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>The size of one struct epoll_event, for an array of them.</summary>
    public static int EpollEventSize => PackedEpollEvent ? 12 : 16;

    /// <summary>Registers (<see cref="EPOLL_CTL_ADD"/>) or re-arms (<see cref="EPOLL_CTL_MOD"/>) <paramref name="fd"/> with <paramref name="data"/>.</summary>
    public static int epoll_ctl(int epfd, int op, int fd, uint events, ulong data)
    {
        var ev = stackalloc byte[16];
        *(uint*)ev = events;
        *(ulong*)(ev + (PackedEpollEvent ? 4 : 8)) = data;
        return epoll_ctl(epfd, op, fd, ev);
    }

    /// <summary>The data of event <paramref name="index"/> in an array epoll_wait filled.</summary>
    public static ulong EpollEventData(byte* events, int index) =>
        *(ulong*)(events + (index * EpollEventSize) + (PackedEpollEvent ? 4 : 8));

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport(Lib, SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, int fd, byte* ev);

    /// <summary>Ready descriptors into <paramref name="events"/>; <paramref name="timeout"/> ms (0: only look).</summary>
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int epoll_wait(int epfd, byte* events, int maxevents, int timeout);
}
