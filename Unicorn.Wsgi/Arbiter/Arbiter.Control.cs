using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Unicorn.Wsgi.Arbiter.Control;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// The control socket's side of the master: the server runs on the thread pool and hands each command to
/// the loop, which runs it between signals (the worker table is the loop's alone).
/// </summary>
public sealed partial class Arbiter : IControlTarget
{
    private readonly ConcurrentQueue<(IReadOnlyList<string> Words, TaskCompletionSource<JsonObject> Done)> _controlCalls = new();
    private readonly DateTime _startedAt = DateTime.UtcNow;
    private ControlServer? _control;
    private long _workersSpawned;
    private long _workersKilled;
    private long _reloads;

    /// <summary>Gunicorn starts it once the first workers are spawned; failing to is a warning, not a stop.</summary>
    private void StartControlServer()
    {
        if (_control is not null || _config.ControlSocket is not { } configured)
        {
            return;
        }

        // As Gunicorn, which has changed to chdir before it creates the socket (pidfile and certfile are read there too).
        var path = Path.GetFullPath(configured, _config.Chdir ?? _startDirectory);
        try
        {
            _control = ControlServer.Start(path, _config.ControlSocketMode, _log, SubmitControlCall);
            _log.Info($"Control socket listening at {path}");
        }
        catch (Exception e) when (e is IOException or SocketException or UnauthorizedAccessException)
        {
            _log.Warning($"Failed to start control socket {path}: {e.Message}");
        }
    }

    private void StopControlServer()
    {
        _control?.Dispose();
        _control = null;
        while (_controlCalls.TryDequeue(out var call))
        {
            call.Done.TrySetException(new OperationCanceledException());
        }
    }

    private Task<JsonObject> SubmitControlCall(IReadOnlyList<string> words)
    {
        var done = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _controlCalls.Enqueue((words, done));
        try
        {
            _signals.Enqueue(SignalQueue.Wakeup);
        }
        catch (ObjectDisposedException)
        {
            done.TrySetException(new OperationCanceledException());
        }

        return done.Task;
    }

    /// <summary>Runs the queued control commands on the loop's thread.</summary>
    private void RunControlCalls()
    {
        while (_controlCalls.TryDequeue(out var call))
        {
            try
            {
                call.Done.TrySetResult(ControlCommands.Execute(call.Words, this));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                call.Done.TrySetException(e);
            }
        }
    }

    IDirtyPool? IControlTarget.Dirty => RunningDirtyPool;

    void IControlTarget.Raise(int signal) => _signals.Enqueue(signal);

    JsonObject IControlTarget.ShowWorkers()
    {
        var workers = WorkerRows("web", includeAborted: true);
        return new JsonObject { ["workers"] = workers, ["count"] = workers.Count };
    }

    JsonObject IControlTarget.ShowAll()
    {
        var workers = WorkerRows("web", includeAborted: false);
        var dirtyWorkers = RunningDirtyPool?.Workers() ?? [];
        return new JsonObject
        {
            ["arbiter"] = new JsonObject { ["pid"] = Environment.ProcessId, ["type"] = "arbiter", ["role"] = "master" },
            ["web_workers"] = workers,
            ["web_worker_count"] = workers.Count,
            ["dirty_arbiter"] = RunningDirtyPool is { } pool
                ? new JsonObject { ["pid"] = pool.Pid, ["type"] = "dirty_arbiter", ["role"] = "dirty master" }
                : null,
            ["dirty_workers"] = dirtyWorkers,
            ["dirty_worker_count"] = dirtyWorkers.Count,
        };
    }

    JsonObject IControlTarget.ShowConfig()
    {
        var config = new JsonObject();
        foreach (var (key, value) in ControlConfigView.Of(_settings))
        {
            config[key] = ToJson(value);
        }

        return config;
    }

    JsonObject IControlTarget.ShowStats() => new()
    {
        ["uptime"] = Math.Round((DateTime.UtcNow - _startedAt).TotalSeconds, 2),
        ["pid"] = Environment.ProcessId,
        ["workers_current"] = _workers.Count,
        ["workers_target"] = _numWorkers,
        ["workers_spawned"] = _workersSpawned,
        ["workers_killed"] = _workersKilled,
        ["reloads"] = _reloads,
        ["dirty_arbiter_pid"] = RunningDirtyPool?.Pid,
    };

    JsonObject IControlTarget.ShowListeners()
    {
        var listeners = new JsonArray();
        foreach (var listener in _listeners)
        {
            listeners.Add((JsonNode)new JsonObject // as a node: Add<T> would serialise it through reflection
            {
                ["address"] = listener.ToString(),
                ["fd"] = listener.Fd,
                ["type"] = listener.Socket.AddressFamily switch
                {
                    AddressFamily.Unix => "unix",
                    AddressFamily.InterNetwork => "tcp",
                    AddressFamily.InterNetworkV6 => "tcp6",
                    _ => "unknown",
                },
            });
        }

        return new JsonObject { ["listeners"] = listeners, ["count"] = listeners.Count };
    }

    JsonObject IControlTarget.WorkerAdd(int count)
    {
        var previous = _numWorkers;
        ChangeWorkerCount(count);
        return new JsonObject { ["added"] = count, ["previous"] = previous, ["total"] = _numWorkers };
    }

    JsonObject IControlTarget.WorkerRemove(int count)
    {
        var previous = _numWorkers;
        ChangeWorkerCount(-count);
        return new JsonObject { ["removed"] = previous - _numWorkers, ["previous"] = previous, ["total"] = _numWorkers };
    }

    JsonObject IControlTarget.WorkerKill(int pid)
    {
        if (!_workers.TryGetValue(pid, out var worker))
        {
            return new JsonObject { ["success"] = false, ["error"] = $"Worker {pid} not found" };
        }

        worker.StopCause ??= "control";
        StopWorkers([pid], Libc.SIGTERM);
        return new JsonObject { ["success"] = true, ["killed"] = pid };
    }

    /// <summary>Workers oldest first, as Gunicorn lists them; last_heartbeat is seconds since the last beat.</summary>
    private JsonArray WorkerRows(string type, bool includeAborted)
    {
        var rows = new JsonArray();
        foreach (var worker in _workers.Values.OrderBy(w => w.Age))
        {
            var booted = false;
            double? sinceBeat = null;
            try
            {
                var (lastBeat, state) = worker.Heartbeat.Read();
                booted = state != WorkerState.Booting;
                sinceBeat = lastBeat == 0 ? null : Math.Round(Stopwatch.GetElapsedTime(lastBeat).TotalSeconds, 2);
            }
            catch (IOException)
            {
                // Reported as unknown.
            }

            var row = new JsonObject { ["pid"] = worker.Pid };
            if (!includeAborted)
            {
                row["type"] = type;
            }

            row["age"] = worker.Age;
            row["booted"] = booted;
            if (includeAborted)
            {
                row["aborted"] = worker.AbortedAt is not null;
            }

            row["last_heartbeat"] = sinceBeat;
            rows.Add((JsonNode)row);
        }

        return rows;
    }

    private static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b,
        int i => i,
        long l => l,
        double d => d,
        IEnumerable<object?> list => new JsonArray([.. list.Select(ToJson)]),
        _ => value.ToString(),
    };
}
