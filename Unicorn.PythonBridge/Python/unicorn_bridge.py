"""The Python half of Unicorn's bridge.

Loaded once per process as the module ``_unicorn_bridge``. C# calls into it at start-up (app loading,
interpreter set-up) and on each request for start_response and the wsgi.input / wsgi.file_wrapper
objects. ``_native`` is a small table of C functions implemented in C#: ``write``, ``headers_sent``,
``early_hints``, ``read`` and ``log``.
"""

import ast
import importlib
import io
import os
import sys
import traceback

_native = None  # set by C# before anything below runs


# --- start_response (PEP 3333) ------------------------------------------------------------------

class StartResponse:
    """The start_response callable of one request.

    ``pending`` holds (status, headers) not yet handed to the server; C# takes and clears it.
    """

    __slots__ = ("status", "pending", "__weakref__")

    def __init__(self):
        self.status = None
        self.pending = None

    def __call__(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.status is not None and _native.headers_sent():
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() called a second time without exc_info")
        if not isinstance(status, str):
            raise TypeError("%r is not a string" % (status,))
        if not isinstance(headers, list):
            raise TypeError("headers must be a list, not %s" % type(headers).__name__)
        self.status = status
        # A copy, as Gunicorn's start_response takes the headers when called: a list the app changes afterwards
        # (or shares with another request's thread) does not change this response.
        self.pending = (status, list(headers))
        return self.write

    def write(self, data):
        if self.status is None:
            raise AssertionError("write() called before start_response()")
        _native.write(self, data)


def _str_pairs(fields, what):
    """(name, value) pairs as str, bytes decoded as latin-1; anything else is the app's TypeError."""
    pairs = []
    for name, value in fields:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("%s must be (str, str) pairs, not (%s, %s)" % (what, type(name).__name__, type(value).__name__))
        pairs.append((name, value))
    return pairs


# --- wsgi.early_hints (Gunicorn 25) -----------------------------------------------------------------

def early_hints(headers):
    """Send a 103 Early Hints response now, before the final one: headers is a list of (name, value).

    Ignored once the response has started and for HTTP/1.0 clients, as in Gunicorn. A header name that is not
    a token, or a value with CR, LF or another control character, raises ValueError.
    """
    refused = _native.early_hints(_str_pairs(headers, "early hint headers"))
    if refused is not None:
        raise ValueError(refused)


# --- gunicorn.http2.send_trailers (Gunicorn 26, HTTP/2 requests only) -------------------------------

def send_trailers(trailers):
    """Queue response trailers, sent after the body: trailers is a list of (name, value).

    A name that is not a token, a value with CR, LF or another control, a field that may not be a trailer
    (Content-Length, Transfer-Encoding, Host, ...) or a call after the response ended raises ValueError.
    """
    refused = _native.send_trailers(_str_pairs(trailers, "trailers"))
    if refused is not None:
        raise ValueError(refused)


# --- wsgi.input -----------------------------------------------------------------------------------

class StreamInput:
    """wsgi.input over a body that is still arriving; reads call into C# with the GIL released."""

    __slots__ = ("_token", "_buffer", "_eof")

    _CHUNK = 65536

    def __init__(self, token):
        self._token = token
        self._buffer = b""
        self._eof = False

    def _read(self, n):
        # The one call for more of the body; the greenlet worker's GreenInput waits in its own way here.
        return _native.read(self._token, n)

    def _fill(self, n):
        if self._eof:
            return False
        data = self._read(max(n, self._CHUNK))
        if not data:
            self._eof = True
            return False
        self._buffer += data
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            parts = [self._buffer]
            self._buffer = b""
            while not self._eof:
                data = self._read(self._CHUNK)
                if not data:
                    self._eof = True
                else:
                    parts.append(data)
            return b"".join(parts)
        while len(self._buffer) < size and self._fill(size - len(self._buffer)):
            pass
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def readline(self, size=-1):
        if size is None:
            size = -1
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end >= 0:
                end += 1
                break
            if 0 <= size <= len(self._buffer):
                end = size
                break
            start = len(self._buffer)
            if not self._fill(self._CHUNK):
                end = len(self._buffer)
                break
        if 0 <= size < end:
            end = size
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        return line

    def readlines(self, hint=-1):
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class EmptyInput:
    """wsgi.input of a request without a body: stateless, so one instance serves every request."""

    __slots__ = ()

    def read(self, size=-1):
        return b""

    def readline(self, size=-1):
        return b""

    def readlines(self, hint=-1):
        return []

    def __iter__(self):
        return iter(())


EMPTY_INPUT = EmptyInput()


# --- wsgi.file_wrapper ----------------------------------------------------------------------------

class FileWrapper:
    """wsgi.file_wrapper: the server sends a real file with sendfile, anything else block by block."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


def file_span(wrapper):
    """(fd, offset, count) for a FileWrapper over a real file, else None (then it is iterated)."""
    filelike = wrapper.filelike
    try:
        fd = filelike.fileno()
        offset = filelike.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    if not isinstance(fd, int):
        return None
    import stat
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        return None
    return fd, offset, max(st.st_size - offset, 0)


# --- errors ---------------------------------------------------------------------------------------

def format_exception(exc, tb=None):
    if tb is None:
        tb = exc.__traceback__
    return "".join(traceback.format_exception(type(exc), exc, tb))


def format_exception_only(exc):
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


# --- app loading (Gunicorn's APP_MODULE rules) ----------------------------------------------------

class AppImportError(Exception):
    """A bad APP_MODULE: the message is shown to the user as is, without a traceback."""


def _attribute_path(node):
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    names.append(node.id)
    return list(reversed(names))


def _bad_arguments(func):
    """True when calling func raised TypeError at the call itself (wrong arguments), not inside it."""
    tb = sys.exc_info()[2]
    code = getattr(func, "__code__", None)
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return False
        tb = tb.tb_next
    return True


def load_app_or_fail_app(spec):
    """--reload, as Gunicorn's worker: a syntax error in the app's modules is logged, and an app answering its
    traceback as a 500 serves instead; the file joins what the reloader watches (sys._unicorn_failed_files), so
    saving the fix replaces this worker."""
    try:
        return load_app(spec)
    except SyntaxError as e:
        import logging
        logging.getLogger("gunicorn.error").exception(e)
        if e.filename:
            failed = sys.__dict__.setdefault("_unicorn_failed_files", [])
            failed.append(os.path.abspath(e.filename))
        body = "".join(traceback.format_exception(e)).encode("utf-8", "backslashreplace")

        def fail_app(environ, start_response):
            start_response("500 Internal Server Error", [("Content-Type", "text/plain"),
                                                         ("Content-Length", str(len(body)))])
            return [body]

        return fail_app


def load_app(spec):
    module_name, sep, expression = spec.partition(":")
    if not sep:
        expression = "application"
    if not module_name:
        raise AppImportError("Failed to find application, no module given in %r." % spec)

    try:
        module = importlib.import_module(module_name)
    except ImportError:
        if module_name.endswith(".py") and os.path.exists(module_name):
            raise AppImportError("Failed to find application, did you mean '%s:%s'?"
                                 % (module_name.rsplit(".", 1)[0], expression))
        raise

    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        raise AppImportError("Failed to parse %r as an attribute name or function call." % expression) from None

    args = kwargs = None
    if isinstance(node, ast.Call):
        path = _attribute_path(node.func)
        if path is None:
            raise AppImportError("Function reference must be a simple name: %r" % expression)
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
        except ValueError:
            raise AppImportError("Failed to parse arguments as literal values: %r" % expression) from None
        if any(k is None for k in kwargs):
            raise AppImportError("Failed to parse arguments as literal values: %r" % expression)
    else:
        path = _attribute_path(node)
        if path is None:
            raise AppImportError("Failed to parse %r as an attribute name or function call." % expression)

    app = module
    for name in path:
        try:
            app = getattr(app, name)
        except AttributeError:
            raise AppImportError("Failed to find attribute %r in %r." % (name, module_name)) from None

    if args is not None:
        factory = app
        try:
            app = factory(*args, **kwargs)
        except TypeError as e:
            if _bad_arguments(factory):
                raise AppImportError(format_exception_only(e)) from None
            raise
        if app is None:
            raise AppImportError("The function %r in %r must return a non-None value." % (expression, module_name))

    if app is None:
        raise AppImportError("Failed to find application object: %r" % expression)
    if not callable(app):
        raise AppImportError("Application object must be callable.")
    return app


# --- interpreter set-up ---------------------------------------------------------------------------

_recorded_signals = {}
_signals_run = set()
_owned_signals = set()


def _server_signal_handler(signum, frame=None):
    """The server's own handler for TERM, INT and QUIT, as signal.getsignal() shows it (Gunicorn's worker has
    handle_exit and handle_quit there): calling it, as an app's handler that wraps the one it replaced does, makes
    the process do what the signal does."""
    os.kill(os.getpid(), int(signum))


def guard_signals(owned):
    """App code must not take the signals the server owns: record the handler, warn, do nothing. A TERM handler is
    called when the worker gets TERM (run_app_signal_handler), beside the server's graceful stop."""
    import signal
    real_signal = signal.signal
    real_getsignal = signal.getsignal
    _owned_signals.update(int(s) for s in owned)
    servers = {int(signal.SIGTERM), int(signal.SIGINT), int(signal.SIGQUIT)} & _owned_signals

    def current(num):
        return _recorded_signals.get(num, _server_signal_handler if num in servers else signal.SIG_DFL)

    def guarded_signal(signalnum, handler):
        num = int(signalnum)
        if num in _owned_signals:
            previous = current(num)
            _record_app_handler(num, handler, "signal.signal(%s, %r)" % (_signal_name(num), handler))
            return previous
        return real_signal(signalnum, handler)

    def guarded_getsignal(signalnum):
        num = int(signalnum)
        if num in _owned_signals:
            return current(num)
        return real_getsignal(signalnum)

    guarded_signal.__doc__ = real_signal.__doc__
    guarded_getsignal.__doc__ = real_getsignal.__doc__
    signal.signal = guarded_signal
    signal.getsignal = guarded_getsignal
    return _recorded_signals


def _signal_name(num):
    import signal
    try:
        return signal.Signals(num).name
    except ValueError:
        return str(num)


def _record_app_handler(num, handler, call):
    import signal
    _recorded_signals[num] = handler
    name = _signal_name(num)
    if num == int(signal.SIGTERM):
        _native.log(20, "%s from application code: it runs when this process gets %s, before the server stops it"
                    % (call, name))
    else:
        _native.log(30, "%s from application code ignored: the server handles %s" % (call, name))


def route_loop_signals(loop):
    """Gives the worker's event loop an add_signal_handler that works off the main thread.

    asyncio refuses signal handlers on a loop that is not on the main thread (RuntimeError from set_wakeup_fd), and
    the worker's loop never is: the main thread is the server's. An app that adds one in its lifespan startup (a
    SIGTERM callback to drain its own work) would fail that startup. Here a callback for a signal the server owns is
    recorded as signal.signal records a handler: TERM's is called on the loop as the graceful stop begins, the others
    are ignored with a warning. A callback for any other signal is ignored with a warning: Python would run it only on
    the main thread, which runs no Python in a worker. Returns False for a loop whose methods cannot be replaced."""
    import asyncio
    import signal
    import types
    added = {}

    def check(sig):
        if not isinstance(sig, int):
            raise TypeError("sig must be an int, not %r" % (sig,))
        if sig not in signal.valid_signals():
            raise ValueError("invalid signal number %s" % sig)
        return int(sig)

    def add_signal_handler(self, sig, callback, *args):
        if asyncio.iscoroutine(callback) or asyncio.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        num = check(sig)
        call = "loop.add_signal_handler(%s, %r)" % (_signal_name(num), callback)
        if num not in _owned_signals:
            _native.log(30, "%s from application code ignored: Python runs signal handlers only on the main thread, "
                            "which is the server's in a worker" % call)
            return

        def handler(signum, frame):
            self.call_soon_threadsafe(callback, *args)

        added[num] = handler
        _record_app_handler(num, handler, call)

    def remove_signal_handler(self, sig):
        num = check(sig)
        handler = added.pop(num, None)
        if handler is None:
            return False
        if _recorded_signals.get(num) is handler:
            del _recorded_signals[num]
        return True

    try:
        loop.add_signal_handler = types.MethodType(add_signal_handler, loop)
        loop.remove_signal_handler = types.MethodType(remove_signal_handler, loop)
    except AttributeError:  # a loop type without an instance dict (uvloop's Loop is a C type)
        return False
    return True


def run_app_signal_handler(signum):
    """Calls the handler application code set for TERM as the worker's graceful stop begins (not on the main thread:
    that thread is the server's). True when one ran. Its SystemExit is the stop that is under way anyway."""
    handler = _recorded_signals.get(signum)
    if not callable(handler) or handler is _server_signal_handler or signum in _signals_run:
        return False
    _signals_run.add(signum)  # once: a handler that chains to the server's sends the signal again
    try:
        handler(signum, None)
    except SystemExit:
        pass
    return True


class _AfterImport:
    """A meta path finder that runs ``configure(module)`` right after the first import of ``name``."""

    def __init__(self, name, configure):
        self.name = name
        self.configure = configure

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        import importlib.util
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ConfiguringLoader(spec.loader, self.configure)
        return spec


class _ConfiguringLoader:
    def __init__(self, loader, configure):
        self._loader = loader
        self._configure = configure

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._configure(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


_loop_threads = set()
_gevent_main_released = False


def release_gevent_main_thread():
    """Sync worker, on the boot thread once the app is loaded: if the app patched with gevent (``grequests`` does at
    import), gevent counts the thread that imported it as its main one, whose hub alone gets the default loop, the
    only one that can watch children. Gunicorn's sync worker calls the app on that thread; this one runs .NET from now
    on and the app runs on the app thread, where ``subprocess`` (gevent's, once patched) raised ``TypeError: child
    watchers are only available on the default loop``. So no thread is main until the app thread claims it
    (``adopt_main_thread``): a hub made here meanwhile gets a loop of its own. A hub this thread already has (under
    --preload, made in the zygote before the fork) goes, with the default loop: nothing runs it here again."""
    global _gevent_main_released
    hub = sys.modules.get("gevent.hub")
    if hub is None:
        return  # imported later, on the app thread, gevent makes that thread its main one itself
    from gevent._hub_local import get_hub_if_exists
    from gevent.monkey import get_original
    if hub.MAIN_THREAD_IDENT != get_original("_thread", "get_ident")():
        return
    existing = get_hub_if_exists()
    if existing is not None:
        existing.destroy(destroy_loop=True)
    hub.MAIN_THREAD_IDENT = None
    _gevent_main_released = True


def adopt_main_thread():
    """Called on the sync worker's app thread as it attaches: what the main thread, where Gunicorn's sync worker calls
    the app, has there (gevent's main hub, an asyncio loop made when asked)."""
    if _gevent_main_released:
        from gevent import hub, monkey
        hub.MAIN_THREAD_IDENT = monkey.get_original("_thread", "get_ident")()
    adopt_main_thread_loop()


def adopt_main_thread_loop():
    """On the sync worker's app thread and a greenlet hub's: asyncio.get_event_loop() there makes and keeps a loop,
    as it does on the main thread, where Gunicorn's sync worker calls the app (old sync code runs coroutines with
    ``asyncio.get_event_loop().run_until_complete(...)``). The worker's main thread runs .NET, so without this the call
    raised ``RuntimeError: There is no current event loop``. asyncio is patched when the app first imports it. Python
    3.14 makes no loop on the main thread either: nothing to do there."""
    if sys.version_info >= (3, 14):
        return
    import threading
    _loop_threads.add(threading.get_ident())
    if "asyncio" in sys.modules:
        _make_loop_on_app_threads(sys.modules["asyncio"])
    elif len(_loop_threads) == 1:
        sys.meta_path.insert(0, _AfterImport("asyncio", _make_loop_on_app_threads))


def _make_loop_on_app_threads(asyncio):
    import threading
    policy = asyncio.events.BaseDefaultEventLoopPolicy
    original = policy.get_event_loop
    if getattr(original, "_unicorn_app_thread", False):
        return

    def get_event_loop(self):
        local = self._local
        if local._loop is None and not local._set_called and threading.get_ident() in _loop_threads:
            if sys.version_info >= (3, 12):
                import warnings
                # What 3.12 and 3.13 say on the main thread (the caller's caller: asyncio.get_event_loop's).
                warnings.warn("There is no current event loop", DeprecationWarning, stacklevel=3)
            self.set_event_loop(self.new_event_loop())
        return original(self)

    get_event_loop.__doc__ = original.__doc__
    get_event_loop._unicorn_app_thread = True
    policy.get_event_loop = get_event_loop


def setup_fork_safety(executable):
    """fork() breaks in a .NET process: multiprocessing starts children with forkserver instead.

    multiprocessing is configured when the app first imports it (importing it here would cost every
    worker its start-up time and memory)."""

    def configure(multiprocessing):
        if executable:
            multiprocessing.set_executable(executable)
        try:
            multiprocessing.set_start_method("forkserver", force=True)
        except ValueError:
            # forkserver passes fds with socket.sendmsg, which eventlet's green socket lacks: spawn is fork-free too.
            multiprocessing.set_start_method("spawn", force=True)

    if "multiprocessing" in sys.modules:
        configure(sys.modules["multiprocessing"])
    else:
        sys.meta_path.insert(0, _AfterImport("multiprocessing", configure))

    def warn_fork():
        if _forks_to_exec():
            return
        _native.log(30, "os.fork() called in a Unicorn worker: the child inherits a .NET runtime that cannot run; "
                        "use multiprocessing (forkserver) or subprocess")

    os.register_at_fork(before=warn_fork)


def _forks_to_exec():
    """Whether this fork is gevent's subprocess.Popen (what ``subprocess`` is under -k gevent): its child runs only
    gevent's exec path, with gc off, and never the runtime, so it is the 'use subprocess' the warning advises."""
    frame = sys._getframe(2)
    for _ in range(4):
        if frame is None:
            return False
        code = frame.f_code
        if code.co_name == "_execute_child" and code.co_filename.endswith(os.path.join("gevent", "subprocess.py")):
            return True
        frame = frame.f_back
    return False


def set_environ(changes):
    """The master's changes to its own environment (raw_env, SERVER_SOFTWARE), which its hooks see in os.environ."""
    for key, value in changes:
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def prepare_paths(chdir, pythonpath, env, launch, unset):
    for key in unset:
        os.environ.pop(key, None)  # unsetenv too: subprocess and os.system children inherit neither
    for key, value in env:
        os.environ[key] = value
    # The master's start directory stays importable behind --chdir, as in Gunicorn.
    if launch and launch not in sys.path:
        sys.path.insert(0, launch)
    if chdir:
        os.chdir(chdir)
        if chdir not in sys.path:
            sys.path.insert(0, chdir)
    for path in pythonpath:
        path = os.path.abspath(path)
        if path not in sys.path:
            sys.path.insert(0, path)


def shutdown(join_threads=True):
    """What interpreter exit would run, without Py_Finalize (pythonnet never calls it). The master passes
    join_threads=False: a non-daemon thread a hook started must not keep it from exiting."""
    import threading
    try:
        if join_threads:
            threading._shutdown()
    finally:
        try:
            import atexit
            atexit._run_exitfuncs()
        finally:
            import logging
            logging.shutdown()
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass


def warm_up_app(environ, start_response):
    """worker_spares: the app a parked spare's synthetic requests reach (never the user's), so that the
    request path is compiled before the spare is promoted."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
