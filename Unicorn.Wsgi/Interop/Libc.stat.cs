using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static unsafe partial class Libc
{
    private const uint S_IFMT = 0xF000;
    private const uint S_IFSOCK = 0xC000;

    [LibraryImport(Lib)]
    public static partial uint umask(uint mask);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lstat(string path, byte* buf);

    /// <summary>st_mode of path (not following a final symlink), or null when it does not exist.</summary>
    public static uint? GetFileMode(string path)
    {
        // struct stat is at most 144 bytes on LP64 Linux; st_mode sits after st_dev, st_ino and (x86-64
        // only) the 8-byte st_nlink.
        var buf = stackalloc byte[256];
        if (lstat(path, buf) != 0)
        {
            return null;
        }

        var offset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
        return *(uint*)(buf + offset);
    }

    public static bool IsSocketMode(uint mode) => (mode & S_IFMT) == S_IFSOCK;
}
