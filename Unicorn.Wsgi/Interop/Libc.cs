using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

/// <summary>
/// The few libc calls the server needs, one file per C header (Libc.fcntl.cs, Libc.signal.cs, ...), with
/// the C names kept so each can be checked against its man page. Linux (glibc/musl) only.
/// </summary>
internal static partial class Libc
{
    private const string Lib = "libc";

    /// <summary>errno of the last failed call made through a <c>SetLastError = true</c> import.</summary>
    public static int Errno => Marshal.GetLastPInvokeError();

    public static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    public const int EINTR = 4;
    public const int ESRCH = 3;
    public const int ECHILD = 10;
    public const int EAGAIN = 11;
    public const int EPERM = 1;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
}
