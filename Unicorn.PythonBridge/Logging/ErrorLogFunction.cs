using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.Logging;

/// <summary>
/// <c>log(level, text, traceback)</c>, a Python builtin that writes to a C# error log at once, from whichever Python
/// thread calls it (the GIL held throughout, as an app thread logs). Python code the server runs reaches the error
/// log through it when it logs, not later: the hooks' <c>server.log</c> and <c>worker.log</c> (also from threads a
/// hook started), and the <c>gunicorn.error</c> logger apps borrow (<see cref="RouteGunicornErrorLogger"/>).
/// </summary>
public static unsafe class ErrorLogFunction
{
    private static readonly ConcurrentDictionary<long, IErrorLog> s_logs = new();
    private static long s_nextKey;

    /// <summary>A namespace whose <c>log</c> writes to <paramref name="log"/> and whose <c>metric(text)</c> sends a
    /// statsd metric through it (GIL held).</summary>
    internal static PyObject CreateNamespace(IErrorLog log)
    {
        var key = Interlocked.Increment(ref s_nextKey);
        s_logs[key] = log;
        var ns = NativeFunction.NewNamespace();
        var self = CPython.PyLong_FromLongLong(key);
        try
        {
            NativeFunction.Add(ns, "log", (delegate* unmanaged<nint, nint*, nint, nint>)&Log, CPython.METH_FASTCALL, self);
            NativeFunction.Add(ns, "metric", (delegate* unmanaged<nint, nint*, nint, nint>)&Metric, CPython.METH_FASTCALL, self);
        }
        finally
        {
            CPython.Py_DecRef(self);
        }

        return ns;
    }

    /// <summary>
    /// Gives the <c>gunicorn.error</c> logger what Gunicorn's own logger gives it: <paramref name="logLevel"/> and a
    /// handler writing to <paramref name="log"/>, not propagating. Apps log through it (Flask's recipe copies its
    /// handlers and level); without it their lines were dropped below WARNING and printed bare above. Only for a
    /// process whose error log is Unicorn's own: under a Python log config the user's handlers are the logger's.
    /// </summary>
    public static void RouteGunicornErrorLogger(PythonRuntime runtime, IErrorLog log, string logLevel) => runtime.RunWithGil(() =>
    {
        using var scope = Py.CreateScope("unicorn_error_logger");
        scope.Exec(Source);
        using var route = scope.Get("_unicorn_route_error_logger");
        using var ns = CreateNamespace(log);
        using var function = ns.GetAttr("log");
        using var level = new PyString(logLevel);
        using var _ = route.Invoke(function, level);
    });

    /// <summary>log(level, text, traceback or None), as the bridge's own <c>_native.log</c>.</summary>
    [UnmanagedCallersOnly]
    private static nint Log(nint self, nint* args, nint nargs) =>
        NativeCallbacks.WriteLog(s_logs.GetValueOrDefault(CPython.PyLong_AsLongLong(self)), args, nargs);

    /// <summary>metric(text): <c>NAME:VALUE|TYPE</c>, sent with the statsd prefix when statsd is configured.</summary>
    [UnmanagedCallersOnly]
    private static nint Metric(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 1)
            {
                return NativeFunction.Raise("metric() takes one str", CPython.PyExc_TypeError);
            }

            var metric = CPython.ToStringOrNull(args[0]);
            if (metric is null)
            {
                return 0; // not a str: the TypeError is set
            }

            s_logs.GetValueOrDefault(CPython.PyLong_AsLongLong(self))?.Metric(metric);
            return CPython.NewRef(CPython.Py_None);
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e);
        }
    }

    private const string Source = """
import logging

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR,
           "critical": logging.CRITICAL}


class _UnicornErrorLogHandler(logging.Handler):
    # unicorn_write: the zygote's handler (unicorn_zygote.py) has it too, for a worker to point at its log.
    def __init__(self, write):
        super().__init__()
        self.unicorn_write = write

    def emit(self, record):
        try:
            text = record.getMessage()
            if record.stack_info:
                text += "\n" + record.stack_info
            trace = logging.Formatter().formatException(record.exc_info) if record.exc_info else None
            self.unicorn_write(record.levelno, _unicorn_printable(text), trace and _unicorn_printable(trace))
        except Exception:
            self.handleError(record)


def _unicorn_printable(text):
    # Lone surrogates (undecodable bytes from os APIs) cannot cross as UTF-8.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _unicorn_route_error_logger(write, level):
    logger = logging.getLogger("gunicorn.error")
    ours = [h for h in logger.handlers if hasattr(h, "unicorn_write")]
    for handler in ours:
        handler.unicorn_write = write  # the zygote's, which an app preloaded there may hold a reference to
    if not ours:
        logger.addHandler(_UnicornErrorLogHandler(write))
    logger.setLevel(_LEVELS.get(level.lower(), logging.INFO))
    logger.propagate = False
""";
}
