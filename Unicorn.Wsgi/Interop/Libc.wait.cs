using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static partial class Libc
{
    public const int WNOHANG = 1;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int waitpid(int pid, out int status, int options);

    // The <sys/wait.h> macros, for Linux's status layout.
    public static bool WIFEXITED(int status) => (status & 0x7f) == 0;

    public static int WEXITSTATUS(int status) => (status >> 8) & 0xff;

    public static bool WIFSIGNALED(int status) => ((status & 0x7f) + 1) >> 1 > 0;

    public static int WTERMSIG(int status) => status & 0x7f;
}
