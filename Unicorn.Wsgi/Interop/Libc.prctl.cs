using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static partial class Libc
{
    public const int PR_SET_NAME = 15;
    public const int PR_SET_PDEATHSIG = 1;
    public const int PR_SET_CHILD_SUBREAPER = 36;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int prctl(int option, nint arg2, nint arg3, nint arg4, nint arg5);

    /// <summary>
    /// Sets this thread's <c>comm</c> (what <c>ps -o comm</c>, <c>top</c> and <c>pkill</c> see), truncated by
    /// the kernel to 15 bytes. Called from the main thread it names the process.
    /// </summary>
    public static unsafe void SetThreadName(string name)
    {
        var bytes = new byte[16];
        var n = System.Text.Encoding.UTF8.GetBytes(name.AsSpan(0, Math.Min(name.Length, 15)), bytes);
        bytes[Math.Min(n, 15)] = 0;
        fixed (byte* p = bytes)
        {
            _ = prctl(PR_SET_NAME, (nint)p, 0, 0, 0);
        }
    }
}
