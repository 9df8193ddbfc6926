using System.Runtime.CompilerServices;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// A shell starts background jobs with INT and QUIT ignored, <c>nohup</c> ignores HUP, and .NET records a
/// signal's disposition the first time it sets up signal handling (Console does, early): an ignored
/// signal can then never be handled, so <c>nohup unicorn ... &amp;</c> ignored every <c>kill -HUP</c>.
/// Gunicorn (Python) handles them regardless, so this assembly restores the default of every signal
/// the master handles before anything in it runs. An ignored CHLD would let the kernel (or .NET, which
/// then reaps every child) discard the workers' exit statuses. A worker inherits the defaults, as
/// Gunicorn's workers reset theirs.
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

        foreach (var sig in Arbiter.MasterSignals)
        {
            if (Libc.IsIgnored(sig))
            {
                Libc.signal(sig, Libc.SIG_DFL);
            }
        }
    }
}
