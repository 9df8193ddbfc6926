using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static unsafe partial class Libc
{
    // struct passwd on LP64: pw_name, pw_passwd (pointers), pw_uid, pw_gid (uint32), ...
    private const int PwUidOffset = 16;
    private const int PwGidOffset = 20;

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint getpwnam(string name);

    [LibraryImport(Lib)]
    private static partial nint getpwuid(uint uid);

    /// <summary>Looks a user up by name: (uid, primary gid), or false when there is no such user.</summary>
    public static bool TryGetUser(string name, out uint uid, out uint gid)
    {
        var p = getpwnam(name);
        if (p == 0)
        {
            uid = gid = 0;
            return false;
        }

        uid = *(uint*)(p + PwUidOffset);
        gid = *(uint*)(p + PwGidOffset);
        return true;
    }

    /// <summary>The name and primary gid of a uid, or false when the uid has no passwd entry.</summary>
    public static bool TryGetUserName(uint uid, out string name, out uint gid)
    {
        var p = getpwuid(uid);
        if (p == 0)
        {
            name = "";
            gid = 0;
            return false;
        }

        name = Marshal.PtrToStringUTF8(*(nint*)p) ?? "";
        gid = *(uint*)(p + PwGidOffset);
        return true;
    }
}
