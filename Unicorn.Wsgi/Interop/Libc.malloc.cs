using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

/// <summary>malloc.h (glibc only: musl has no malloc_trim).</summary>
internal static partial class Libc
{
    /// <summary>Returns the free memory of every malloc arena to the kernel; 1 if any was released.</summary>
    [LibraryImport(Lib)]
    public static partial int malloc_trim(nuint pad);

    private static bool s_noMallocTrim;

    /// <summary><see cref="malloc_trim"/> where the C library has it; a no-op elsewhere.</summary>
    public static void TrimMalloc()
    {
        if (s_noMallocTrim)
        {
            return;
        }

        try
        {
            malloc_trim(0);
        }
        catch (EntryPointNotFoundException)
        {
            s_noMallocTrim = true;
        }
    }
}
