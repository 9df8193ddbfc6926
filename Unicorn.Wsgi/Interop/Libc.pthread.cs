using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static partial class Libc
{
    /// <summary>The calling thread's pthread_t: what Python's threading.get_ident() and faulthandler's "Thread 0x..." show.</summary>
    [LibraryImport(Lib)]
    public static partial nuint pthread_self();
}
