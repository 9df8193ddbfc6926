using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.ProcessContract;

/// <summary>
/// CoreCLR raises the soft limit of open files to the hard limit as it starts; a native (NativeAOT) program does not,
/// so the native build's entry does it, for the master and, by inheritance, the zygote and every worker: without it
/// a worker of a host whose soft limit is 1024 refuses connections past about a thousand.
/// </summary>
public static class OpenFilesLimit
{
    public static void RaiseToHard()
    {
        if (Libc.getrlimit(Libc.RLIMIT_NOFILE, out var limit) == 0 && limit.Cur < limit.Max)
        {
            _ = Libc.setrlimit(Libc.RLIMIT_NOFILE, new Libc.RLimit { Cur = limit.Max, Max = limit.Max });
        }
    }
}
