using Python.Runtime;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.Logging;

/// <summary>
/// Gunicorn's handler on the <c>gunicorn.access</c> logger, for a worker whose logs are Unicorn's own (no Python log
/// config). Apps and hooks change that logger (Gunicorn's recipe to keep health checks out of the access log adds a
/// filter to it; Django's LOGGING may name it): once they have, <see cref="Customized"/> says so and every line is
/// logged through it (<see cref="Pass"/>), with the atoms as the record's args as in Gunicorn; the handler only
/// records what reached it, and Unicorn writes that line to the access log. An untouched logger costs nothing.
/// </summary>
public sealed class AccessLogGate : IAccessLogGate, IDisposable
{
    private readonly PyModule _scope;
    private readonly PyObject _pass;
    private readonly PyObject _customized;
    private int _closed;

    private AccessLogGate(PyModule scope)
    {
        _scope = scope;
        _pass = scope.Get("_unicorn_access_pass");
        _customized = scope.Get("_unicorn_access_customized");
    }

    /// <summary>
    /// Gives <c>gunicorn.access</c> Gunicorn's level, no propagation and the handler, before hooks or app run. A record
    /// the app logs there itself is written to <paramref name="target"/> (--access-logfile, "-" for stdout; null when
    /// the access log goes to syslog only).
    /// </summary>
    public static AccessLogGate Install(PythonRuntime runtime, string? target)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        return runtime.RunWithGil(() =>
        {
            var scope = Py.CreateScope("unicorn_access_logger");
            scope.Exec(Source);
            using var install = scope.Get("_unicorn_install_access_gate");
            using var path = target is null ? PyObject.None : new PyString(target);
            using var _ = install.Invoke(path);
            return new AccessLogGate(scope);
        });
    }

    /// <summary>True once the logger or its handler is not as installed: lines must go through Python.</summary>
    public bool Customized()
    {
        using (Py.GIL())
        {
            using var result = _customized.Invoke();
            return result.IsTrue();
        }
    }

    public string? Pass(string line, IReadOnlyList<KeyValuePair<string, object>> atoms)
    {
        ArgumentNullException.ThrowIfNull(atoms);
        if (Volatile.Read(ref _closed) != 0 || !PythonEngine.IsInitialized)
        {
            return line;
        }

        using (Py.GIL())
        {
            using var dict = PythonLogging.AtomsDict(atoms);
            using var text = new PyString(line);
            using var passed = _pass.Invoke(text, dict);
            return passed.IsNone() ? null : passed.As<string>();
        }
    }

    public void Close() => Volatile.Write(ref _closed, 1);

    public void Dispose()
    {
        using (Py.GIL())
        {
            _pass.Dispose();
            _customized.Dispose();
            _scope.Dispose();
        }
    }

    private const string Source = """
import logging
import sys
import threading


class _UnicornAccessHandler(logging.Handler):
    # Gunicorn's handler on gunicorn.access. For a line Unicorn passes through the logger, it keeps what reached it,
    # formatted by a formatter the app set on it (Gunicorn's is "%(message)s"), and Unicorn writes that. A record the
    # app logs there itself it writes to the access log (rare: opened per line, so a rotated file is followed).
    passing = None  # the thread passing a line (the access log's writer), so an app thread's record is not taken for it
    line = None
    target = None

    def emit(self, record):
        try:
            line = self.format(record) if self.formatter is not None else record.getMessage()
            if self.passing == threading.get_ident():
                self.line = line
            elif self.target == "-":
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
            elif self.target is not None:
                with open(self.target, "a", encoding="utf-8") as f:
                    f.write(line + "\n")
        except Exception:
            self.handleError(record)


_unicorn_access_handler = _UnicornAccessHandler()


def _unicorn_install_access_gate(target):
    _unicorn_access_handler.target = target
    logger = logging.getLogger("gunicorn.access")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(_unicorn_access_handler)


def _unicorn_access_customized():
    logger = logging.getLogger("gunicorn.access")
    handler = _unicorn_access_handler
    return bool(logger.filters or logger.disabled or logger.level != logging.INFO or logger.propagate
                or logger.handlers != [handler] or handler.filters or handler.level != logging.NOTSET
                or handler.formatter is not None)


def _unicorn_access_pass(line, atoms):
    # The record's args are the atoms, as Gunicorn logs them; the line has its '%' doubled so that getMessage()
    # gives it back unchanged.
    handler = _unicorn_access_handler
    handler.line = None
    handler.passing = threading.get_ident()
    try:
        logging.getLogger("gunicorn.access").info(line.replace("%", "%%"), atoms)
    finally:
        handler.passing = None
    return handler.line
""";
}
