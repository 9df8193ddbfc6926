using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

internal static unsafe partial class Libc
{
    // Linux signal numbers (x86-64 and arm64 agree on these).
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGQUIT = 3;
    public const int SIGABRT = 6;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGUSR2 = 12;
    public const int SIGPIPE = 13;
    public const int SIGTERM = 15;
    public const int SIGCHLD = 17;
    public const int SIGCONT = 18;
    public const int SIGTSTP = 20;
    public const int SIGTTIN = 21;
    public const int SIGTTOU = 22;
    public const int SIGWINCH = 28;

    public const nint SIG_DFL = 0;
    public const nint SIG_IGN = 1;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport(Lib, EntryPoint = "sigaction", SetLastError = true)]
    private static partial int sigaction(int sig, void* act, void* oldact);

    /// <summary>True when sig is currently ignored (SIG_IGN). Queries only; changes nothing.</summary>
    public static bool IsIgnored(int sig)
    {
        // struct sigaction starts with the handler pointer on Linux (x86-64, arm64); 256 bytes covers it.
        var old = stackalloc byte[256];
        return sigaction(sig, null, old) == 0 && *(nint*)old == SIG_IGN;
    }

    /// <summary>
    /// Used only to restore SIG_DFL before .NET installs its handlers: a shell starts background jobs
    /// with INT and QUIT ignored, and .NET never handles a signal that was ignored at start.
    /// </summary>
    [LibraryImport(Lib, EntryPoint = "signal")]
    public static partial nint signal(int sig, nint handler);

    /// <summary>Gunicorn names signals as Python's <c>signal.Signals(n).name</c> does.</summary>
    public static string SignalName(int sig) => sig switch
    {
        SIGHUP => "SIGHUP",
        SIGINT => "SIGINT",
        SIGQUIT => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        SIGABRT => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        SIGKILL => "SIGKILL",
        SIGUSR1 => "SIGUSR1",
        11 => "SIGSEGV",
        SIGUSR2 => "SIGUSR2",
        SIGPIPE => "SIGPIPE",
        14 => "SIGALRM",
        SIGTERM => "SIGTERM",
        SIGCHLD => "SIGCHLD",
        SIGCONT => "SIGCONT",
        19 => "SIGSTOP",
        SIGTSTP => "SIGTSTP",
        SIGTTIN => "SIGTTIN",
        SIGTTOU => "SIGTTOU",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        SIGWINCH => "SIGWINCH",
        _ => $"signal {sig}",
    };
}
