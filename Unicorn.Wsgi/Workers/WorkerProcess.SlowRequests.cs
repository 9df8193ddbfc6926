using System.Globalization;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Workers;

public sealed partial class WorkerProcess
{
    private readonly HashSet<(nuint Thread, long StartedAt, long Id)> _reportedSlow = [];

    /// <summary>
    /// max_request_time (Gunicorn #1801, #3136): a request past the limit is logged once with the Python stack
    /// of the thread, greenlet or asyncio task serving it, in every worker class whose host can tell (sync, gthread,
    /// gevent, eventlet, asgi), while the worker goes on serving; with max_request_time_action = recycle the worker
    /// is then replaced as after
    /// max_requests (counted as cause max_request_time). Checked at each heartbeat.
    /// </summary>
    private void WatchSlowRequests(Worker worker)
    {
        if (_config.MaxRequestTime <= 0)
        {
            return;
        }

        var slow = worker.RunningLongerThan(TimeSpan.FromSeconds(_config.MaxRequestTime));
        _reportedSlow.IntersectWith(slow.Select(r => (r.ThreadId, r.StartedAt, r.Id)));
        foreach (var request in slow)
        {
            if (!_reportedSlow.Add((request.ThreadId, request.StartedAt, request.Id)))
            {
                continue;
            }

            var seconds = request.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
            _log.Log(LogLevel.Warning,
                $"Request {request.Method} {request.Uri} has run {seconds} s, over max_request_time ({_config.MaxRequestTime} s) " +
                $"(pid:{_info.Pid}); the stack of the {request.ServedBy} serving it:\n" + StackOf(request));
            if (_config.RecycleOnMaxRequestTime && !_retiring)
            {
                _log.Info($"Recycling worker (pid:{_info.Pid}) after a request past max_request_time");
                StopAcceptingAndRetire(RetireCause.MaxRequestTime);
            }
        }
    }

    /// <summary>The stack of what serves the request: its task's own reader, else its greenlet's or thread's block of a dump.</summary>
    private string StackOf(RunningRequest request)
    {
        try
        {
            return request.Stack is { } read ? read() : RequestStack(_options.DumpPythonStacks?.Invoke() ?? "", request);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return "(could not read the Python stacks: " + e.Message + ")";
        }
    }

    /// <summary>
    /// The serving greenlet's block ("Greenlet of request N ...") when it is suspended, else its thread's: a greenlet
    /// that is running (holding the hub) shows in the hub thread's stack.
    /// </summary>
    internal static string RequestStack(string dump, RunningRequest request)
    {
        if (request.ServedBy == RunningRequest.Greenlet)
        {
            var label = "Greenlet of request " + request.Id.ToString(CultureInfo.InvariantCulture) + " ";
            foreach (var block in dump.Replace("\r", "", StringComparison.Ordinal).Split("\n\n"))
            {
                var trimmed = block.Trim('\n');
                if (trimmed.StartsWith(label, StringComparison.Ordinal))
                {
                    return trimmed;
                }
            }
        }

        return ThreadStack(dump, request.ThreadId);
    }

    /// <summary>One thread's block of a faulthandler dump ("Thread 0x... (most recent call first):" and its frames).</summary>
    internal static string ThreadStack(string dump, nuint thread)
    {
        var id = "0x" + ((ulong)thread).ToString("x16", CultureInfo.InvariantCulture);
        foreach (var block in dump.Replace("\r", "", StringComparison.Ordinal).Split("\n\n"))
        {
            var trimmed = block.Trim('\n');
            if (thread != 0 && (trimmed.StartsWith("Thread " + id, StringComparison.Ordinal) || trimmed.StartsWith("Current thread " + id, StringComparison.Ordinal)))
            {
                return trimmed;
            }
        }

        return dump.Length > 0
            ? "(its thread is not in the dump; every Python thread:)\n" + dump.TrimEnd('\n')
            : "(no Python stack available)";
    }
}
