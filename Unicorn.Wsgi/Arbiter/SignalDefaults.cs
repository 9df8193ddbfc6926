using System.Runtime.CompilerServices;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// A shell starts background jobs with INT and QUIT ignored, and .NET records a signal's disposition
/// the first time it sets up signal handling (Console does, early): an ignored INT can then never be
/// handled. Gunicorn (Python) handles them regardless, so this assembly restores the default before
/// anything in it runs. An ignored CHLD would let the kernel (or .NET, which then reaps every child)
/// discard the workers' exit statuses, so it is restored too.
/// </summary>
internal static class SignalDefaults
{
#pragma warning disable CA2255 // process-wide signal state must be fixed before the runtime reads it
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RestoreInterruptSignals()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        foreach (var sig in new[] { Libc.SIGINT, Libc.SIGQUIT, Libc.SIGCHLD })
        {
            if (Libc.IsIgnored(sig))
            {
                Libc.signal(sig, Libc.SIG_DFL);
            }
        }
    }
}
