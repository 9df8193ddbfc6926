using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Transport.Listeners;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// The worker process around <see cref="Worker"/>: takes what the master handed over (listener fds,
/// heartbeat, settings), drops privileges, imports the app, then runs one loop like Gunicorn's worker:
/// handle signals, beat the heartbeat while the app threads are responsive, notice a vanished master.
/// </summary>
public sealed partial class WorkerProcess
{
    private readonly WorkerProcessOptions _options;
    private readonly IErrorLog _log;
    private readonly SignalQueue _signals = new();
    private readonly int _masterPid;
    private readonly WorkerInfo _info;
    private readonly WorkerHeartbeat _heartbeat;
    private Settings _settings = new();
    private ProcessSettings _config = new();
    private Worker? _worker;
    // worker_spares: the worker started while parked, its gate opened by SIGUSR2's handler (never unregistered:
    // a late USR2 must not take the default action, which ends the process), and the promotion's moments for
    // the debug line after the first response.
    private Task? _parkedRun;
    private IDisposable? _promotion;
    private long _promotionSignalled;
    private long _promotionTaken;
    private long _promotionServing;
    private long _firstRequestStarted;
    private long _firstRequestAnswered;
    // A graceful stop's deadline is the worker's own, a little before the master's SIGKILL (_masterKillsAt): what
    // still runs then is ended, lifespan shutdown and worker_exit run, and the worker leaves by itself.
    private long? _gracefulDeadline;
    private long _masterKillsAt;
    private bool _quickStop; // INT or QUIT came: the stop's deadline is now, not a graceful timeout running out
    private long _retireDeadline;
    private volatile bool _retiring;

    private WorkerProcess(WorkerProcessOptions options)
    {
        _options = options;
        _log = options.Log;
        _masterPid = EnvInt(HandOver.MasterPid);
        _info = new WorkerInfo(Environment.ProcessId, EnvInt(HandOver.WorkerAge));
        _heartbeat = WorkerHeartbeat.FromFd(EnvInt(HandOver.HeartbeatFd));
    }

    /// <summary>Runs this process as a worker; returns its exit status (3 boot error, 4 app load error).</summary>
    public static int Run(WorkerProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var process = new WorkerProcess(options);
        try
        {
            return process.Boot() ?? process.Serve();
        }
        finally
        {
            process.Exit();
        }
    }

    private static readonly int[] WorkerSignals =
    [
        Libc.SIGTERM, Libc.SIGINT, Libc.SIGQUIT, Libc.SIGUSR1, Libc.SIGABRT,
        // Handled to be ignored: unhandled, TTIN/TTOU would stop the process (a shell's job control).
        Libc.SIGTTIN, Libc.SIGTTOU, Libc.SIGWINCH,
    ];

    /// <summary>Everything before serving; a non-null result is the exit status of a failed boot.</summary>
    private int? Boot()
    {
        // Handlers first: until then a signal has its default action, and the name is what ps, pkill and the
        // tests go by, so a process named a worker takes a terminal's Ctrl-C as one.
        _signals.Register(WorkerSignals);
        Libc.SetThreadName("unicorn: worker");
        // Past its boot allowance the master sends ABRT; nothing reads the signal queue until the app is
        // loaded, so answer it here, with the Python stack of the stuck import.
        using var abortWhileBooting = SignalQueue.Handle(Libc.SIGABRT, Abort);
        return BootSteps();
    }

    private int? BootSteps()
    {
        List<ListenerInfo> listeners;
        ILoadedApp app;
        HubThread? hub = null;
        try
        {
            _settings = _options.DeserializeSettings(HandOver.ReadSettingsJson());
            _config = ProcessSettings.From(_settings);
            if (_settings.ServerName is { } serverName)
            {
                Http.ResponseHeadWriter.UseServerName(serverName);
            }

            _options.Configure?.Invoke(_settings);
            _log.Info($"Booting worker with pid: {_info.Pid}"); // after Configure: into --error-logfile, as Gunicorn's
            PreferToBeKilledBeforeTheMaster();
            ProcessIdentity.Resolve(_config).Apply(_config.InitGroups);
            // A greenlet hub is per thread: post_fork, the import and post_worker_init run on the one the hub will.
            hub = AppHosts.For(_settings).NeedsHubThread ? new HubThread() : null;
            OnPythonThread(hub, () => _options.Hooks.PostFork?.Invoke(_info));
            listeners = OpenListeners();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bad log config or a raising post_fork is the user's: its line, not a .NET stack trace.
            _log.Exception("Exception in worker process", _options.DescribeBootError(e));
            return ExitCodes.WorkerBootError;
        }

        try
        {
            app = hub is null ? _options.LoadApp(_settings) : hub.Invoke(() => _options.LoadApp(_settings));
        }
        catch (Exception e) when (_options.IsAppLoadError(e))
        {
            _log.Debug("Exception while loading the application: " + e);
            _log.Error(e.Message);
            return ExitCodes.AppLoadError;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Exception("Exception in worker process", _options.DescribeBootError(e));
            return ExitCodes.WorkerBootError;
        }

        try
        {
            _worker = new Worker(_settings, listeners, app, _log, hub);
            _worker.MaxRequestsReached += OnMaxRequestsReached;
            _worker.AccessLog = _options.AccessLog;
            _options.WorkerCreated?.Invoke(_worker);
            if (StartReloader() is { } reloadFailure)
            {
                return reloadFailure;
            }

            OnPythonThread(hub, () => _options.Hooks.PostWorkerInit?.Invoke(_info));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Exception("Exception in worker process", _options.DescribeBootError(e));
            return ExitCodes.WorkerBootError;
        }

        if (Environment.GetEnvironmentVariable(HandOver.Spare) == "1" && !Park())
        {
            return 0;
        }

        _heartbeat.Beat(WorkerState.Ready);
        WakeMaster(); // a HUP's or TTIN's master acts on this readiness now (stops the old set), not at its next second
        return null;
    }

    private static void OnPythonThread(HubThread? hub, Action work)
    {
        if (hub is null)
        {
            work();
        }
        else
        {
            hub.Invoke(work);
        }
    }

    /// <summary>
    /// worker_spares: booted, this spare waits without accepting until the master promotes it (SIGUSR2).
    /// False: told to stop, or the master is gone, before that.
    /// </summary>
    private bool Park()
    {
        var worker = _worker!;
        TracePromotion(worker);
        // Everything up to accepting runs now: the host's thread waits at the gate, and promotion opens it
        // straight from the signal handler, without waiting for this thread.
        _parkedRun = worker.StartParked();
        // Registered before the Spare beat: the master promotes only a spare whose heartbeat says so.
        _promotion = SignalQueue.Handle(Libc.SIGUSR2, () =>
        {
            Volatile.Write(ref _promotionSignalled, Stopwatch.GetTimestamp());
            worker.Open();
            _signals.Enqueue(Libc.SIGUSR2);
        });
        var started = Stopwatch.GetTimestamp();
        _log.Debug($"Spare worker (pid: {_info.Pid}) booted; compiling the request path before it parks");
        // A stop during the warm-up (seconds of it) ends it: the spare has served nothing, and the master's
        // TERM, HUP or exit waits for it. The queue still gets the signal, and the loop below unparks.
        using var leaving = new CancellationTokenSource();
        using (SignalQueue.Handle(Libc.SIGTERM, Leave))
        using (SignalQueue.Handle(Libc.SIGINT, Leave))
        using (SignalQueue.Handle(Libc.SIGQUIT, Leave))
        {
            if (WarmUp(leaving.Token) is not { } warmedUp)
            {
                _log.Debug($"Spare worker (pid: {_info.Pid}) told to stop during its warm-up");
                return Unpark();
            }

            var (prepared, answered) = warmedUp;
            var collection = ReturnFreeMemory();
            _log.Debug($"Spare worker (pid: {_info.Pid}) returned its free memory before it waits (collection paused {collection.TotalMilliseconds:0.0} ms)");
            _heartbeat.Beat(WorkerState.Spare);
            _log.Debug($"Spare worker (pid: {_info.Pid}) parked ({prepared} methods compiled, {answered} synthetic requests answered, in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms)");
        }

        while (true)
        {
            foreach (var sig in _signals.Wait(TimeSpan.FromSeconds(1)))
            {
                switch (sig)
                {
                    case Libc.SIGUSR2:
                        _promotionTaken = Stopwatch.GetTimestamp();
                        _log.Debug($"Spare worker (pid: {_info.Pid}) promoted");
                        return true;
                    case Libc.SIGTERM or Libc.SIGINT or Libc.SIGQUIT:
                        return Unpark();
                    default:
                        HandleSignal(sig);
                        break;
                }
            }

            if (Libc.getppid() != _masterPid)
            {
                return Unpark();
            }
        }

        // On the runtime's signal thread, which may still be running one as the registrations go.
        void Leave()
        {
            try
            {
                leaving.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The warm-up is over: the queue's copy of the signal is what counts now.
            }
        }
    }

    /// <summary>
    /// What a parked spare compiles before it waits: the request path's methods, then two rounds of synthetic
    /// requests (tiered compilation counts calls only once no method has been compiled for 100 ms: the second
    /// round is counted, and its hot methods are recompiled optimised). Null: told to stop during it.
    /// </summary>
    private (int Prepared, int Answered)? WarmUp(CancellationToken leaving)
    {
        var prepared = _options.WarmUp?.Invoke(leaving) ?? 0;
        var answered = ServeSyntheticRequests(leaving);
        if (answered > 0)
        {
            WaitForJitQuiet(leaving);
            answered += ServeSyntheticRequests(leaving);
            WaitForJitQuiet(leaving);
        }

        return leaving.IsCancellationRequested ? null : (prepared, answered);
    }

    /// <summary>
    /// The request path run for real while parked, against the bridge's own app: what a first request would
    /// compile is compiled now. Optional: a failure is logged and the spare parks without it.
    /// </summary>
    private int ServeSyntheticRequests(CancellationToken leaving)
    {
        if (_options.WarmUpApp is not { } warmUpApp || !Worker.CanWarmUp(_settings) || leaving.IsCancellationRequested)
        {
            return 0;
        }

        try
        {
            return Worker.WarmUp(_settings, warmUpApp(_settings), _log, SyntheticConnections, leaving);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Warning($"Spare worker (pid: {_info.Pid}) could not serve its warm-up requests: {e.Message}");
            return 0;
        }
    }

    // 3 requests each: past the 30 calls after which tiered compilation recompiles a method optimised.
    private const int SyntheticConnections = 16;

    /// <summary>Waits (at most 3 s) until the JIT has compiled nothing for 250 ms, background recompiles included.</summary>
    private static void WaitForJitQuiet(CancellationToken leaving)
    {
        var started = Stopwatch.GetTimestamp();
        var quietSince = started;
        var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        while (Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(3) && Stopwatch.GetElapsedTime(quietSince) < TimeSpan.FromMilliseconds(250))
        {
            if (leaving.WaitHandle.WaitOne(50))
            {
                return;
            }

            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != compiled)
            {
                compiled = now;
                quietSince = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>A spare told to go before promotion: its worker (host thread, loops) stops having served nothing.</summary>
    private bool Unpark()
    {
        _worker!.StopNow();
        try
        {
            _ = _parkedRun!.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException e)
        {
            _log.Warning($"Spare worker (pid: {_info.Pid}) failed while parked: {e.InnerException}");
        }

        return false;
    }

    /// <summary>
    /// The inherited listeners, plus with reuse_port this worker's slot of the master's TCP sockets; none is
    /// inherited further by anything the app runs.
    /// </summary>
    private static List<ListenerInfo> OpenListeners()
    {
        var shared = HandOver.ParseFds(Environment.GetEnvironmentVariable(HandOver.ListenFds))
            .Select(fd => new ListenerInfo(ListenerBinder.FromFd(fd)));
        var ownSlot = HandOver.ParseFds(Environment.GetEnvironmentVariable(HandOver.PortFds))
            .Select(fd => new ListenerInfo(ListenerBinder.FromFd(fd)) { OwnedByWorker = true });
        var listeners = shared.Concat(ownSlot).ToList();

        foreach (var listener in listeners)
        {
            Libc.SetInheritable(ListenerBinder.FdOf(listener.Socket), false);
        }

        return listeners;
    }

    private int Serve()
    {
        var worker = _worker!;
        _promotionServing = _promotionTaken == 0 ? 0 : Stopwatch.GetTimestamp();
        var run = _parkedRun ?? worker.RunAsync();
        // The loop below wakes as the worker finishes (a graceful stop drained), not up to a beat later.
        _ = run.ContinueWith(_ => _signals.Enqueue(SignalQueue.Wakeup), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        var beatEvery = TimeSpan.FromSeconds(_config.Timeout > 0 ? Math.Clamp(_config.Timeout / 4.0, 0.1, 1.0) : 1.0);
        // A thread host's beat is dated when its last free thread took its request, so the master's `timeout`
        // ends a stuck sync worker `timeout` after that request began, as Gunicorn's. Other hosts stop beating once
        // what runs their requests has been held for `stuck` (at most 1 s): up to that much later.
        var stuck = TimeSpan.FromSeconds(Math.Min(1.0, _config.Timeout / 2.0));
        // gthread, as Gunicorn's: `timeout` proves the process alive, not its requests short (a long export or long
        // poll on every thread is no reason to abort them); max_request_time bounds a request.
        var requestsHoldBeat = _settings.EffectiveWorkerClass != WorkerClasses.Gthread;
        while (!run.IsCompleted)
        {
            // Woken at the graceful deadline itself, not at the next beat after it (up to a second later).
            var wait = _gracefulDeadline is { } due && !_quickStop
                ? TimeSpan.FromTicks(Math.Min(Until(due).Ticks, beatEvery.Ticks))
                : beatEvery;
            foreach (var sig in _signals.Wait(wait))
            {
                HandleSignal(sig);
            }

            var state = _retiring ? WorkerState.Retiring : WorkerState.Ready;
            if (_config.Timeout > 0 && requestsHoldBeat && worker.AllBusySince() is { } busy)
            {
                var busyFor = Math.Max(0, Environment.TickCount64 - busy);
                _heartbeat.Beat(state, WorkerHeartbeat.Now - (busyFor * Stopwatch.Frequency / 1000));
            }
            else if (_config.Timeout <= 0 || !requestsHoldBeat || worker.IsResponsive(stuck))
            {
                _heartbeat.Beat(state);
            }

            _options.SampleLoad?.Invoke(worker.ThreadCount, worker.BusyThreads, worker.QueueDepth);
            LogPromotionTrace();
            WatchSlowRequests(worker);
            ReturnIdleMemory(worker);

            if (_gracefulDeadline is null && Libc.getppid() != _masterPid)
            {
                _log.Info($"Parent changed, shutting down: {_info.Pid}");
                BeginGracefulStop();
            }

            if (_gracefulDeadline is null && Volatile.Read(ref _retireDeadline) is > 0 and var retire && Stopwatch.GetTimestamp() >= retire)
            {
                // Retired without waiting (max_requests), or the master never asked us to go: go now.
                BeginGracefulStop();
            }

            if (_gracefulDeadline is { } deadline && Stopwatch.GetTimestamp() >= deadline)
            {
                if (!_quickStop && _settings.EffectiveWorkerClass == WorkerClasses.Gevent)
                {
                    // Gunicorn's gevent worker says so before it kills its greenlets (its other workers do not).
                    _log.Warning($"Worker graceful timeout (pid:{_info.Pid})");
                }

                worker.StopNow();
                break;
            }
        }

        // After the graceful deadline, what is left of the time before the master's SIGKILL (less a little, for
        // worker_exit): ending the requests, lifespan shutdown. A quick stop keeps its 2 s.
        var finish = _quickStop || _masterKillsAt == 0
            ? TimeSpan.FromSeconds(2)
            : TimeSpan.FromTicks(Math.Max(0, Until(_masterKillsAt).Ticks - (DeadlineMargin(_config.GracefulTimeout).Ticks / 4)));
        if (!run.Wait(finish))
        {
            // A Python thread is stuck in C code: .NET and Python cannot shut down around it.
            _log.Warning($"Worker (pid:{_info.Pid}) did not stop in time; exiting now");
            Exit();
            Libc._exit(0);
        }

        return 0;
    }

    /// <summary>
    /// A spare, logging at debug: its worker notes when its first request starts and is answered (set before
    /// the gate can open), for one line after promotion with when each step happened.
    /// </summary>
    private void TracePromotion(Worker worker)
    {
        if (!_log.IsEnabled(LogLevel.Debug))
        {
            return;
        }

        worker.TraceFirstRequest(
            () => Volatile.Write(ref _firstRequestStarted, Stopwatch.GetTimestamp()),
            () => Volatile.Write(ref _firstRequestAnswered, Stopwatch.GetTimestamp()));
    }

    /// <summary>From the serve loop, not the request's thread: the line must not delay the response it times.</summary>
    private void LogPromotionTrace()
    {
        if (_promotionServing == 0 || Volatile.Read(ref _firstRequestAnswered) == 0)
        {
            return;
        }

        _log.Debug($"Spare worker (pid: {_info.Pid}) first response: USR2 handled {PromotionTrace.At(Volatile.Read(ref _promotionSignalled))}, " +
            $"main thread {PromotionTrace.At(_promotionTaken)}, serving {PromotionTrace.At(_promotionServing)}, " +
            $"request started {PromotionTrace.At(Volatile.Read(ref _firstRequestStarted))}, answered {PromotionTrace.At(Volatile.Read(ref _firstRequestAnswered))}");
        _promotionServing = 0;
    }

    private void HandleSignal(int sig)
    {
        switch (sig)
        {
            case Libc.SIGTERM:
                BeginGracefulStop();
                break;
            case Libc.SIGINT:
            case Libc.SIGQUIT:
                _options.Hooks.WorkerInt?.Invoke(_info);
                // Gunicorn 26.1's sync worker answers 500 from the SystemExit its handler raises in the app; stopping
                // now would close the connection unanswered.
                AnswerHeldRequests();
                _worker?.StopNow();
                _worker?.ReleaseSharedListeners();
                _quickStop = true;
                _gracefulDeadline = Stopwatch.GetTimestamp();
                break;
            case Libc.SIGUSR1:
                _options.ReopenLogs?.Invoke();
                break;
            case Libc.SIGABRT:
                Abort();
                break;
        }
    }

    private void BeginGracefulStop()
    {
        if (_gracefulDeadline is not null)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        _masterKillsAt = now + (long)(_config.GracefulTimeout * (double)Stopwatch.Frequency);
        _gracefulDeadline = _masterKillsAt - (long)(DeadlineMargin(_config.GracefulTimeout).TotalSeconds * Stopwatch.Frequency);
        var appHandler = _options.AppSignalHandler is { } handler ? Task.Run(() => handler(Libc.SIGTERM)) : null;
        _worker?.BeginGracefulStop(appHandler);
        _worker?.ReleaseSharedListeners();
    }

    /// <summary>The time left until a <see cref="Stopwatch"/> timestamp; zero once it has passed.</summary>
    private static TimeSpan Until(long timestamp) =>
        TimeSpan.FromTicks(Math.Max(0, Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp).Ticks));

    /// <summary>
    /// How long before the master's SIGKILL (graceful_timeout after its TERM) the worker ends what still runs: a
    /// second, or a quarter of a shorter graceful_timeout. Enough to cancel the requests, run lifespan shutdown and
    /// worker_exit and exit; little enough that a request that can finish gets nearly all of graceful_timeout.
    /// </summary>
    internal static TimeSpan DeadlineMargin(int gracefulTimeout) =>
        TimeSpan.FromSeconds(Math.Clamp(gracefulTimeout / 4.0, 0, 1.0));

    /// <summary>
    /// The master's timeout: log where Python is stuck, run worker_abort, answer the held requests 500 (as Gunicorn
    /// 26.1's sync worker does after its hook), leave at once.
    /// </summary>
    private void Abort()
    {
        var stacks = DumpStacks();
        _log.Exception($"Worker (pid:{_info.Pid}) was aborted after a timeout; Python stacks:", stacks.Length > 0 ? stacks : "(no Python stack available)");
        try
        {
            _options.Hooks.WorkerAbort?.Invoke(_info);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Exception("Exception in worker_abort hook", e.ToString());
        }

        AnswerHeldRequests(stacks);
        Exit();
        Libc._exit(1);
    }

    private string DumpStacks()
    {
        try
        {
            return _options.DumpPythonStacks?.Invoke() ?? "";
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return "(could not read the Python stacks: " + e.Message + ")";
        }
    }

    /// <summary>Answers 500 each request the app holds with no response begun, its stack from <paramref name="stacks"/> (else a new dump).</summary>
    private void AnswerHeldRequests(string? stacks = null)
    {
        if (_worker is not { } worker)
        {
            return;
        }

        worker.AnswerAbortedRequests(running => RequestStack(stacks ??= DumpStacks(), running));
        _options.FlushLogs?.Invoke();
    }

    /// <summary>
    /// max_requests reached (the Worker logged "Autorestarting worker after current request."), as
    /// Gunicorn: stop taking requests at once, finish those in flight and exit, so the worker's memory
    /// ends near where max_requests put it; the master starts the replacement now, and connections wait
    /// for it in the listen backlog (with reuse_port, this worker's slot's, which the master keeps open for it).
    /// </summary>
    private void OnMaxRequestsReached() => StopAcceptingAndRetire(RetireCause.MaxRequests);

    /// <summary>As after max_requests; <paramref name="cause"/> is what the master's restart metric counts.</summary>
    private void StopAcceptingAndRetire(RetireCause cause)
    {
        var worker = _worker!;
        worker.BeginRetire();
        Retire(TimeSpan.Zero, cause);
    }

    /// <summary>
    /// Asks the master for a replacement; this worker goes on (serving, for --reload) until told to stop
    /// or until <paramref name="wait"/> has passed.
    /// </summary>
    private void Retire(TimeSpan wait, RetireCause cause)
    {
        if (_retiring)
        {
            return;
        }

        _retiring = true;
        _heartbeat.Cause = cause;
        _heartbeat.Beat(WorkerState.Retiring);
        Volatile.Write(ref _retireDeadline, Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency));
        WakeMaster();
    }

    /// <summary>
    /// SIGCHLD, which the master's loop takes as "look at the workers' heartbeats now" (it reaps only children that
    /// have exited), so it acts on a change of state at once rather than at its next loop second.
    /// </summary>
    private void WakeMaster() => _ = Libc.kill(_masterPid, Libc.SIGCHLD);

    private bool _exited;

    private void Exit()
    {
        if (_exited)
        {
            return;
        }

        _exited = true;
        StopReloader();
        _log.Info($"Worker exiting (pid: {_info.Pid})");
        try
        {
            _options.Hooks.WorkerExit?.Invoke(_info);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Warning("Exception during worker exit:\n" + e);
        }

        // Ctrl-C reaches the whole process group: the master's QUIT may come after the terminal's INT.
        _signals.CloseForExit();
    }

    private static int EnvInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidOperationException($"{name} is not set: this process was not started by a Unicorn master");
}
