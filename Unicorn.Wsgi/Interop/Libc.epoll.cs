using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static unsafe partial class Libc
{
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const uint EPOLLIN = 0x001;

    /// <summary>Wake one of the epoll sets waiting on the descriptor, not all (Linux 4.5).</summary>
    public const uint EPOLLEXCLUSIVE = 1u << 28;

    /// <summary>
    /// sizeof(struct epoll_event): <c>__attribute__((packed))</c> on x86-64 (events, then data at offset 4),
    /// naturally aligned elsewhere (data at offset 8).
    /// </summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    private static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, byte* @event);

    /// <summary>Waits for up to <paramref name="maxevents"/> events into <paramref name="events"/> (<see cref="EpollEventSize"/> bytes each).</summary>
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int epoll_wait(int epfd, byte* events, int maxevents, int timeout);

    /// <summary>Adds <paramref name="fd"/> to <paramref name="epfd"/> for <paramref name="events"/>, tagged with <paramref name="data"/>.</summary>
    public static int EpollAdd(int epfd, int fd, uint events, ulong data)
    {
        var e = stackalloc byte[16];
        *(uint*)e = events;
        *(ulong*)(e + EpollDataOffset) = data;
        return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, e);
    }

    /// <summary>The data tag of the <paramref name="index"/>th event epoll_wait filled in.</summary>
    public static ulong EpollData(byte* events, int index) => *(ulong*)(events + (index * EpollEventSize) + EpollDataOffset);
}
