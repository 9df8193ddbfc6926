using System.Diagnostics;
using System.Runtime.InteropServices;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.ProcessContract;

// Unicorn runs on Linux only; these PosixSignal values exist there.
#pragma warning disable CA1416

/// <summary>
/// What the program does when it starts as PID 1 (a container without an init: `docker run` without
/// `--init`, a Kubernetes pod): it becomes a minimal init and runs the master as its child. The .NET
/// runtime of a PID-1 process reaps every child the moment it exits (its SIGCHLD handler calls waitpid(-1),
/// to reap orphans as an init must), which takes the exit status of each worker and of the zygote from the
/// master: a worker the OOM killer ended went unlogged, a boot failure (exit 3 or 4) was taken for a clean
/// exit and the master booted workers forever, and every stop waited a second for a zygote already gone.
/// One process up, that reaping does the init's job instead (orphans the app leaves are reaped), and this
/// process forwards the master's signals, as tini does, and exits with the master's status.
/// </summary>
public static class Pid1Init
{
    /// <summary>The signals an operator sends the master (docker stop, docker kill -s HUP, kubectl exec kill 1).</summary>
    private static readonly int[] Forwarded =
    [
        Libc.SIGHUP, Libc.SIGINT, Libc.SIGQUIT, Libc.SIGTERM, Libc.SIGWINCH, Libc.SIGTTIN, Libc.SIGTTOU, Libc.SIGUSR1, Libc.SIGUSR2,
    ];

    /// <summary>True when this process should run <see cref="Run"/> instead of the master.</summary>
    public static bool Applies => Environment.ProcessId == 1;

    /// <summary>Starts the program again with the same arguments and environment, forwards signals, returns its exit status.</summary>
    public static int Run(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var gate = new object();
        Process? master = null;
        var pending = new List<int>();
        var registrations = new List<PosixSignalRegistration>();
        foreach (var sig in Forwarded)
        {
            registrations.Add(PosixSignalRegistration.Create(SignalQueue.ToPosix(sig), context =>
            {
                context.Cancel = true;
                var number = SignalQueue.FromPosix(context.Signal);
                lock (gate)
                {
                    if (master is null)
                    {
                        pending.Add(number);
                    }
                    else
                    {
                        _ = Libc.kill(master.Id, number);
                    }
                }
            }));
        }

        var info = new ProcessStartInfo(Environment.ProcessPath ?? "/proc/self/exe") { UseShellExecute = false };
        info.Environment[Transport.Listeners.Systemd.Pid1ChildMarker] = "1";
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        try
        {
            lock (gate)
            {
                master = Process.Start(info) ?? throw new InvalidOperationException("no process");
                foreach (var sig in pending)
                {
                    _ = Libc.kill(master.Id, sig);
                }
            }
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new ArbiterException($"unicorn: cannot start the master under PID 1: {e.Message}");
        }

        master.WaitForExit();
        // 128 + the signal for a master killed by one, as a shell and tini report it.
        var code = master.ExitCode;
        foreach (var registration in registrations)
        {
            registration.Dispose();
        }

        return code;
    }
}
