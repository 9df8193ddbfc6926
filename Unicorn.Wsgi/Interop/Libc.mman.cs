using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static partial class Libc
{
    public const uint MFD_CLOEXEC = 0x1;

    /// <summary>An anonymous file in memory, shared by whoever holds its descriptor; it needs no file system.</summary>
    [LibraryImport(Lib, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);
}
