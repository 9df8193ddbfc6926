using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static partial class Libc
{
    public const int RLIMIT_NOFILE = 7;

    [StructLayout(LayoutKind.Sequential)]
    public struct RLimit
    {
        public ulong Cur;
        public ulong Max;
    }

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int setrlimit(int resource, in RLimit limit);
}
