using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.ProcessContract;

// Unicorn runs on Linux only; these PosixSignal values exist there.
#pragma warning disable CA1416

/// <summary>
/// Signals as a queue: handlers only enqueue (and cancel the runtime's default action), and one loop
/// takes them in order, as Gunicorn's arbiter does. Raw numbers cover USR1/USR2, which
/// <see cref="PosixSignal"/> does not name.
/// </summary>
public sealed class SignalQueue : IDisposable
{
    private readonly BlockingCollection<int> _queue = new(new ConcurrentQueue<int>());
    // Registrations of queues closed for exit, rooted so that no finalizer unregisters them before the process ends.
    private static readonly List<PosixSignalRegistration> HeldUntilExit = [];

    private readonly List<PosixSignalRegistration> _registrations = [];

    /// <summary>Wake-up that is not a signal (e.g. a worker asking to be replaced).</summary>
    public const int Wakeup = 0;

    public void Register(IEnumerable<int> signals)
    {
        ArgumentNullException.ThrowIfNull(signals);
        foreach (var sig in signals)
        {
            _registrations.Add(PosixSignalRegistration.Create(ToPosix(sig), OnSignal));
        }
    }

    /// <summary>The runtime's name for signal number sig.</summary>
    public static PosixSignal ToPosix(int sig) => sig switch
    {
        Libc.SIGHUP => PosixSignal.SIGHUP,
        Libc.SIGINT => PosixSignal.SIGINT,
        Libc.SIGQUIT => PosixSignal.SIGQUIT,
        Libc.SIGTERM => PosixSignal.SIGTERM,
        Libc.SIGCHLD => PosixSignal.SIGCHLD,
        Libc.SIGCONT => PosixSignal.SIGCONT,
        Libc.SIGWINCH => PosixSignal.SIGWINCH,
        Libc.SIGTTIN => PosixSignal.SIGTTIN,
        Libc.SIGTTOU => PosixSignal.SIGTTOU,
        Libc.SIGTSTP => PosixSignal.SIGTSTP,
        _ => (PosixSignal)sig,
    };

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Enqueue(FromPosix(context.Signal));
    }

    /// <summary>The signal number of the runtime's name for it (raw numbers pass through).</summary>
    public static int FromPosix(PosixSignal signal) => (int)signal switch
    {
        (int)PosixSignal.SIGHUP => Libc.SIGHUP,
        (int)PosixSignal.SIGINT => Libc.SIGINT,
        (int)PosixSignal.SIGQUIT => Libc.SIGQUIT,
        (int)PosixSignal.SIGTERM => Libc.SIGTERM,
        (int)PosixSignal.SIGCHLD => Libc.SIGCHLD,
        (int)PosixSignal.SIGCONT => Libc.SIGCONT,
        (int)PosixSignal.SIGWINCH => Libc.SIGWINCH,
        (int)PosixSignal.SIGTTIN => Libc.SIGTTIN,
        (int)PosixSignal.SIGTTOU => Libc.SIGTTOU,
        (int)PosixSignal.SIGTSTP => Libc.SIGTSTP,
        var raw => raw,
    };

    /// <summary>
    /// Queues sig. A signal or a wake-up can still arrive after <see cref="Dispose"/> (a child's SIGCHLD as the
    /// master exits, a handler the runtime had already dispatched): it is dropped, never thrown on a runtime thread.
    /// </summary>
    public void Enqueue(int sig)
    {
        try
        {
            _queue.Add(sig);
        }
        catch (ObjectDisposedException)
        {
            // The loop is gone: nobody is left to handle it.
        }
    }

    /// <summary>Runs handler on the runtime's signal thread when sig arrives, until disposed (for when no loop reads the queue).</summary>
    public static IDisposable Handle(int sig, Action handler) =>
        PosixSignalRegistration.Create(ToPosix(sig), context =>
        {
            context.Cancel = true;
            handler();
        });

    /// <summary>Waits up to timeout for one signal, then drains whatever else is queued.</summary>
    public List<int> Wait(TimeSpan timeout)
    {
        var signals = new List<int>();
        if (_queue.TryTake(out var first, timeout))
        {
            signals.Add(first);
            while (_queue.TryTake(out var next))
            {
                signals.Add(next);
            }
        }

        signals.RemoveAll(s => s == Wakeup);
        return signals;
    }

    /// <summary>Whether a signal or wake-up is queued: a long task in the loop (spawning many workers) stops for it.</summary>
    public bool HasPending => _queue.Count > 0;

    /// <summary>Takes one queued signal without waiting.</summary>
    public bool TryTake(out int sig) => _queue.TryTake(out sig);

    /// <summary>
    /// Ends the queue for a process that is about to exit, keeping its handlers until the process is gone. The
    /// runtime dispatches a signal on its own thread some time after it arrived: disposed first, the registration
    /// would be missing by then, and .NET would carry out the default action (a worker that exited cleanly would
    /// die of the master's QUIT, and the master log "was sent SIGQUIT!"). Late signals are dropped instead.
    /// </summary>
    public void CloseForExit()
    {
        lock (HeldUntilExit)
        {
            HeldUntilExit.AddRange(_registrations);
        }

        _registrations.Clear();
        _queue.Dispose();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _registrations.Clear();
        _queue.Dispose();
    }
}
