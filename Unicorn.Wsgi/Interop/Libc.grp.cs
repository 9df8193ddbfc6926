using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static unsafe partial class Libc
{
    // struct group on LP64: gr_name, gr_passwd (pointers), gr_gid (uint32), gr_mem.
    private const int GrGidOffset = 16;

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint getgrnam(string name);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int initgroups(string user, uint group);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setgroups(nuint size, uint* list);

    public static bool TryGetGroup(string name, out uint gid)
    {
        var p = getgrnam(name);
        gid = p == 0 ? 0 : *(uint*)(p + GrGidOffset);
        return p != 0;
    }
}
