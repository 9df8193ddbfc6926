using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Transport.Listeners;

namespace Unicorn.Wsgi.Arbiter;

public sealed partial class Arbiter
{
    /// <summary>Environment a worker must not inherit: it belongs to the master.</summary>
    private static readonly string[] MasterOnlyEnvironment =
        ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET", HandOver.UpgradeReadyFd, HandOver.GunicornFd, HandOver.GunicornPid, HandOver.SystemdFds,
            HandOver.Daemonized, HandOver.ScriptArgv];

    /// <summary>Starts and stops workers until the count matches, never dropping ready capacity.</summary>
    private void ManageWorkers()
    {
        var snapshots = _workers.Values.Select(w => w.Snapshot()).ToList();
        // A worker from before the last HUP is replaced whatever the count: planned as retiring, it stops once enough
        // new ones are ready and never counts toward the target (a TTIN during the change-over kept one for good).
        var planned = snapshots.Select(s => _workers[s.Pid].Generation < _generation ? s with { State = WorkerState.Retiring } : s).ToList();
        var (spawn, stop) = WorkerPlan.Decide(planned, _numWorkers);
        foreach (var pid in stop)
        {
            var retiring = snapshots.Any(s => s.Pid == pid && s.State == WorkerState.Retiring);
            _workers[pid].StopCause ??= retiring ? _workers[pid].RetireCauseName() : _workers[pid].Generation < _generation ? "reload" : "scale_down";
        }

        StopWorkers(stop, Libc.SIGTERM);
        for (var i = 0; i < spawn; i++)
        {
            if (PromoteSpare())
            {
                continue;
            }

            if (StartsHeldBack)
            {
                break;
            }

            // A large target (`worker add 1000` on the control socket) is not started in one go: once one has started,
            // a queued signal or control call goes first and the loop comes back for the rest. Starting them all first
            // held a TERM for as long as a thousand forks and pre_fork hooks took.
            if (i > 0 && _signals.HasPending)
            {
                break;
            }

            try
            {
                SpawnWorker();
            }
            catch (Exception e) when (e is IOException or ListenerException)
            {
                if (!_workerStarted)
                {
                    // Not one worker since the master started: a setup that cannot work (descriptors to hand over above
                    // ulimit -n, say), not a passing shortage. Stop with the reason, as Gunicorn's master does, rather
                    // than log it every second for good.
                    throw new StopMasterException(graceful: false, "Cannot start a worker: " + e.Message, exitCode: 1);
                }

                // Out of processes or fds, the program vanished, or a port slot could not be bound: say so and try
                // again a loop interval later.
                StartFailed("Cannot start a worker: " + e.Message);
                break;
            }
        }

        _portSlots?.Trim(_numWorkers, AcceptsForItsSlot);
        ReportWorkerCount();
        ReportBacklog();
        RefillSpares();
    }

    /// <summary>
    /// enable_backlog_metric: the connections waiting in the TCP listeners' accept queues (Linux's TCP_INFO
    /// <c>tcpi_unacked</c> on a listening socket), logged at debug and sent as <c>gunicorn.backlog</c>. Unix sockets
    /// have no such count and are left out (Gunicorn adds -1 for each, so one unix listener alone sends nothing).
    /// </summary>
    private void ReportBacklog()
    {
        if (!_settings.EnableBacklogMetric || !OperatingSystem.IsLinux())
        {
            return;
        }

        var waiting = 0;
        var measured = false;
        foreach (var listener in _listeners)
        {
            if (listener.Socket.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
                && TcpInfo.WaitingToBeAccepted(listener.Socket) is { } queued)
            {
                waiting += queued;
                measured = true;
            }
        }

        if (measured)
        {
            _log.Debug($"socket backlog: {waiting}");
            _options.BacklogMeasured?.Invoke(waiting);
        }
    }

    /// <summary>
    /// True for a loop interval after a worker or spare could not be started. A failed spawn's child exits at once, and
    /// its SIGCHLD woke the loop straight back into the same failure: 1,700 error lines a second, and a core, for a
    /// program that had vanished.
    /// </summary>
    private bool StartsHeldBack => _startFailedAt != 0 && Stopwatch.GetElapsedTime(_startFailedAt) < LoopInterval;

    private void StartFailed(string message)
    {
        _log.Error(message);
        _startFailedAt = Stopwatch.GetTimestamp();
    }

    /// <summary>Gunicorn logs "N workers" (with the <c>gunicorn.workers</c> gauge) when the live count changes.</summary>
    private void ReportWorkerCount()
    {
        var live = _workers.Values.Count(w => w.StopSentAt is null);
        if (live == _reportedWorkerCount)
        {
            return;
        }

        _reportedWorkerCount = live;
        _log.Debug($"{live} workers");
        _options.Metrics?.SetWorkerCount(live);
        _options.WorkersChanged?.Invoke(live);
    }

    private void SpawnWorker()
    {
        var worker = StartWorker(spare: false);
        _workers[worker.Pid] = worker;
        PublishMasterState(); // the next pre_fork sees it in server.WORKERS, as Gunicorn's does
    }

    /// <summary>Starts a worker process (forked from the zygote, else spawned); a spare parks once booted.</summary>
    private WorkerHandle StartWorker(bool spare)
    {
        var portSlot = _portSlots?.Claim(AcceptsForItsSlot);
        var portFds = portSlot?.Fds ?? [];
        var age = ++_workerAge;
        var heartbeat = WorkerHeartbeat.Create(_config.WorkerTmpDir);
        var fds = _listeners.Select(l => l.Fd).ToList();
        // Above every descriptor passed, so that no dup2 lands on one still to be passed.
        var heartbeatFd = fds.Concat(portFds).Append(heartbeat.Fd).Append(2).Max() + 1;
        var portTargets = portFds.Select((_, i) => heartbeatFd + 1 + i).ToList();

        var env = WorkerEnvironmentBase();
        env[HandOver.WorkerMode] = "1";
        env[HandOver.ListenFds] = HandOver.FormatFds(fds);
        env[HandOver.PortFds] = HandOver.FormatFds(portTargets);
        env[HandOver.HeartbeatFd] = heartbeatFd.ToString(CultureInfo.InvariantCulture);
        env[HandOver.MasterPid] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        env[HandOver.WorkerAge] = age.ToString(CultureInfo.InvariantCulture);
        env[HandOver.SettingsJson] = _options.SerializeSettings(_settings);
        if (spare)
        {
            env[HandOver.Spare] = "1";
        }

        if (_options.PythonInfo is { } info)
        {
            env[HandOver.PythonInfo] = info;
        }

        IReadOnlyList<KeyValuePair<string, string>> metricsEnv = [];
        var slot = -1;
        if (_options.Metrics is { } metrics)
        {
            metricsEnv = metrics.ReserveSlot(out slot);
        }

        foreach (var (name, value) in metricsEnv)
        {
            env[name] = value;
        }

        // worker_heap_limit: a small gen0 budget and, in a container, a heap limit shared among the workers.
        var heap = WorkerGcEnvironment.Apply(env, _settings.WorkerHeapLimit, _numWorkers, _containerMemoryLimit.Value);
        if (heap != _heapLimitLogged)
        {
            _heapLimitLogged = heap; // once, and again when TTIN/TTOU or a reload changes it
            _log.Debug(heap);
        }

        var (path, args) = Executable();
        string? hookState = null;
        RunHook("pre_fork", () => hookState = _options.Hooks.PreFork?.Invoke(new WorkerInfo(0, age)));
        if (hookState is not null)
        {
            env[HandOver.HookWorkerState] = hookState;
        }

        NameWorkerOnly(env);
        int pid;
        try
        {
            var title = $"unicorn: worker [{_procName}]";
            pid = ForkWorker(env, [heartbeat.Fd, .. portFds], title)
                ?? Spawn(path, [title, .. args.Take(path.EndsWith("/dotnet", StringComparison.Ordinal) ? 1 : 0)], env,
                    [(heartbeat.Fd, heartbeatFd), .. portFds.Zip(portTargets)]);
        }
        catch
        {
            heartbeat.Dispose();
            _options.Metrics?.WorkerStarted(slot, null);
            throw;
        }

        _workersSpawned++;
        portSlot?.Holders.Add(pid);
        _options.Metrics?.WorkerStarted(slot, pid);
        _workerStarted = true;
        return new WorkerHandle(pid, age, heartbeat, _generation, slot);
    }

    /// <summary>
    /// The environment every worker starts from, and the zygote too (its forked workers keep the runtime
    /// settings): the master's, without what belongs to the master, with the workers' .NET tuning.
    /// </summary>
    private Dictionary<string, string> WorkerEnvironmentBase()
    {
        var env = ProcessSpawner.CurrentEnvironment();
        foreach (var name in MasterOnlyEnvironment)
        {
            env.Remove(name);
        }

        // No .NET debugger or diagnostics server in workers: they cost each worker 3 threads and 3 files in
        // $TMPDIR, which a killed worker (timeout, OOM) leaves behind. DOTNET_EnableDiagnostics=1 brings them back.
        env.TryAdd("DOTNET_EnableDiagnostics", "0");

        // Workers tier without profile guidance, as the master does (Unicorn.Cli.csproj): its instrumented
        // code and profile data cost each worker 5-8 MiB under load for no CPU per request that a run could
        // see (bench/results/findings.md). A user's DOTNET_TieredPGO=1 still turns it on.

        // Socket completions run on the epoll thread instead of hopping to the thread pool: a request's
        // head is parsed and queued for Python where it arrived, which halves the context switches per
        // request (bench/results/findings.md). Not with TLS: handshakes are CPU-heavy and would hold up
        // every other connection's I/O.
        // Inline, .NET starts one epoll thread per core in every worker (32 threads each on 32 cores); one
        // serves a worker, whose Python runs one thread at a time: 3 MiB less per worker there, and no
        // difference on 2 cores (bench/results/findings.md, finding 45).
        if (!Transport.Tls.TlsSettings.IsRequested(_settings))
        {
            env.TryAdd("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
            env.TryAdd("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT", "1");
        }

        return env;
    }

    /// <summary>
    /// Starts the program as a worker, its settings in a memory file passed by descriptor (<see cref="HandOver.SettingsFd"/>):
    /// exec refuses an environment string over 128 KiB, which a long forwarded_allow_ips list or logconfig_dict reaches.
    /// </summary>
    private static int Spawn(string path, IReadOnlyList<string> argv, Dictionary<string, string> env, List<(int From, int To)> dup2)
    {
        using var settings = MemoryFile("unicorn-settings", Encoding.UTF8.GetBytes(env[HandOver.SettingsJson]));
        var fd = (int)settings.DangerousGetHandle();
        // Above every descriptor passed or to be replaced, and duplicated first, so no later dup2 lands on it.
        var target = dup2.Select(d => d.To).Append(fd).Max() + 1;
        env.Remove(HandOver.SettingsJson);
        env[HandOver.SettingsFd] = target.ToString(CultureInfo.InvariantCulture);
        return ProcessSpawner.Spawn(new SpawnRequest { Path = path, Argv = argv, Environment = env, Dup2 = [(fd, target), .. dup2] });
    }

    private static SafeFileHandle MemoryFile(string name, byte[] content)
    {
        var fd = Libc.memfd_create(name, Libc.MFD_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"memfd_create: {Libc.StrError(Libc.Errno)}");
        }

        var file = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            RandomAccess.Write(file, content, fileOffset: 0);
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Names in <see cref="HandOver.WorkerOnly"/> what <paramref name="env"/> adds to or changes in the master's
    /// environment, that variable itself among them, and what is added later on the way: the zygote's
    /// <see cref="HandOver.ForkedWorker"/>, a spawn's <see cref="HandOver.SettingsFd"/>.
    /// </summary>
    private static void NameWorkerOnly(Dictionary<string, string> env)
    {
        var master = ProcessSpawner.CurrentEnvironment();
        env[HandOver.WorkerOnly] = string.Join(',', env.Where(e => !master.TryGetValue(e.Key, out var value) || value != e.Value)
            .Select(e => e.Key).Concat([HandOver.ForkedWorker, HandOver.SettingsFd, HandOver.WorkerOnly]).Distinct());
    }

    /// <summary>The program and base arguments this master was started with (dotnet hosts add the dll).</summary>
    private (string Path, IReadOnlyList<string> Args) Executable()
    {
        var path = _options.ExecutablePath ?? Environment.ProcessPath ?? throw new ArbiterException("cannot find this program's path to start workers");
        var args = _options.Arguments ?? ProgramCommandLine.Args[1..];
        if (path.EndsWith("/dotnet", StringComparison.Ordinal) && _options.Arguments is null)
        {
            args = [ProgramCommandLine.Args[0], .. args];
        }

        return (path, args);
    }

    /// <summary>Sends sig to every worker, spares included (they stop, reopen logs and die with the workers).</summary>
    private void KillWorkers(int sig)
    {
        foreach (var pid in _workers.Keys.Concat(_spares.Keys).ToList())
        {
            KillWorker(pid, sig);
        }
    }

    /// <summary>Sends sig; a worker that is already gone is reaped by the next waitpid.</summary>
    private void KillWorker(int pid, int sig)
    {
        if (Libc.kill(pid, sig) != 0)
        {
            if (Libc.Errno != Libc.ESRCH)
            {
                _log.Warning($"kill({pid}, {Libc.SignalName(sig)}) failed: {Libc.StrError(Libc.Errno)}");
            }
        }
        else if (sig is Libc.SIGTERM or Libc.SIGKILL)
        {
            _workersKilled++; // show stats' workers_killed counts termination signals sent, as Gunicorn does
        }
    }

    private void StopWorkers(IEnumerable<int> pids, int sig)
    {
        foreach (var pid in pids)
        {
            if (_workers.TryGetValue(pid, out var worker))
            {
                worker.StopSentAt ??= WorkerHeartbeat.Now;
                KillWorker(pid, sig);
            }
        }
    }
}
