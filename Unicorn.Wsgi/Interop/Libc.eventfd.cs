using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static partial class Libc
{
    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    /// <summary>A counter descriptor: a write adds to it and makes it readable, a read returns and resets it.</summary>
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);
}
