"""Unicorn's zygote: the plain CPython process workers are forked from (worker_start = fork).

The master starts it with the listening sockets inherited and one end of a socketpair. It prepares the
interpreter (chdir, pythonpath, raw_env), imports the application with --preload (then gc.freeze(), so
the collector does not dirty the pages workers share), and answers the master's requests: each asks for
one worker and carries the worker's environment and, as SCM_RIGHTS, its heartbeat file (and with
reuse_port its slot's listening sockets). The worker is
forked twice, so it is reparented to the master (a child subreaper while it asks), which reaps and
signals it as its own child; it then starts .NET inside itself through hostfxr and runs the ordinary
worker, whose pythonnet attaches to this already initialised interpreter.

Messages are one JSON object per line. The zygote writes {"ready": true} or {"error": ..., "kind": ...}
once, then {"pid": N} or {"error": ...} per request. End of file from the master ends the zygote.
"""

import atexit
import ctypes
import gc
import importlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import traceback
import types

# The signals a worker handles itself: it must start with their default action, as a spawned one does.
WORKER_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGCHLD", "SIGTTIN",
                  "SIGTTOU", "SIGWINCH", "SIGABRT")

# Standard-library modules every worker imports after the fork (the bridge, the dirty client and pythonnet's
# own Python need them). Imported here, before gc.freeze(), their objects sit in pages the workers share
# rather than in each worker's own (bench/results/2026-12-05-mem8.md). Gunicorn's master has them imported
# before it forks too. Nothing here is one a greenlet worker's monkey patching must come before (ssl,
# asyncio, subprocess, queue): those stay for the worker to import.
SHARED_MODULES = ("ast", "atexit", "base64", "bz2", "fnmatch", "importlib.abc", "importlib.resources", "importlib.util", "io",
                  "ipaddress", "itertools", "logging", "lzma", "pathlib", "random", "select", "shutil", "stat",
                  "string", "struct", "tempfile", "time", "types", "typing", "urllib.parse", "weakref", "zlib")

# Unicorn's own Python modules (Unicorn.PythonBridge/Python/*.py), which the build places in python/ beside this
# script: every worker executes the bridge, the dirty client and glogging, and the worker class's half. Compiled
# here once, before the fork, their code objects are in pages the workers share, and a worker executes them
# without compiling (unicorn_dirty.py alone cost a worker ~35 ms and kept 1.5 MiB of compiler memory). A worker
# finds them in sys.modules[PRECOMPILED] (BridgeModule.cs), keyed by file name, with the source's length, which
# it checks against the source it carries.
PRECOMPILED = "_unicorn_precompiled"
PRECOMPILED_DIR = "python"

# glibc's M_ARENA_MAX: at most this many malloc arenas in a forked worker, whose .NET threads would each
# create one of their own (up to 8 per core); the CPython side allocates under the GIL anyway. Kept when
# the user set MALLOC_ARENA_MAX, which glibc has already read.
M_ARENA_MAX = -8
WORKER_MALLOC_ARENAS = 2

# What a stop sent to the whole process group delivers (Ctrl-C or Ctrl-\ at a terminal, systemd's stop,
# timeout(1)). They are the master's to act on: a zygote they killed would only be replaced while the
# master shuts down. The master ends the zygote by closing its channel (end of file in main).
GROUP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP)


def ignore(_signum, _frame):
    pass


def send(sock, message):
    sock.sendall(json.dumps(message).encode() + b"\n")


def prepare(config):
    # The script's own directory is not the application's.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    chdir = config.get("chdir") or os.getcwd()
    # The master's start directory stays importable behind --chdir, as in Gunicorn.
    launch = config.get("launch_dir")
    if launch and launch not in sys.path:
        sys.path.insert(0, launch)
    os.chdir(chdir)
    if chdir not in sys.path:
        sys.path.insert(0, chdir)
    for path in config.get("pythonpath", []):
        path = os.path.abspath(path)
        if path not in sys.path:
            sys.path.insert(0, path)
    # The app's sys.argv, as Gunicorn's master and workers have the command line (a preloaded app may read it).
    if config.get("argv"):
        sys.argv = list(config["argv"])


class ErrorLogHandler(logging.Handler):
    """gunicorn.error's handler, which Gunicorn's logger has before the app is imported (apps copy it at import:
    Flask's recipe). Here it writes Gunicorn's error-log lines to stderr; a forked worker points unicorn_write at
    its own error log (Logging/ErrorLogFunction.cs), and the app's copy follows."""

    def __init__(self):
        super().__init__()
        self.unicorn_write = None
        self.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s",
                                            "%Y-%m-%d %H:%M:%S %z"))

    def emit(self, record):
        if self.unicorn_write is None:
            try:
                sys.stderr.write(self.format(record) + "\n")
                sys.stderr.flush()
            except Exception:
                self.handleError(record)
            return
        try:
            text = record.getMessage()
            if record.stack_info:
                text += "\n" + record.stack_info
            trace = logging.Formatter().formatException(record.exc_info) if record.exc_info else None
            self.unicorn_write(record.levelno, text.encode("utf-8", "backslashreplace").decode("utf-8"),
                               trace and trace.encode("utf-8", "backslashreplace").decode("utf-8"))
        except Exception:
            self.handleError(record)


def route_error_logger(level):
    logger = logging.getLogger("gunicorn.error")
    logger.addHandler(ErrorLogHandler())
    logger.setLevel(getattr(logging, level.upper(), logging.INFO))
    logger.propagate = False


def install_dirty(source):
    """Registers Unicorn's dirty module as unicorn_dirty and gunicorn.dirty, as every worker has it, so that an
    app preloaded here can `from gunicorn.dirty import get_dirty_client` (it failed with ModuleNotFoundError)."""
    import linecache
    module = types.ModuleType("unicorn_dirty")
    module.__file__ = "unicorn_dirty.py"
    sys.modules["unicorn_dirty"] = module
    linecache.cache["unicorn_dirty.py"] = (len(source), None, source.splitlines(True), "unicorn_dirty.py")
    exec(precompiled("unicorn_dirty.py", source), module.__dict__)  # pylint: disable=exec-used
    module.install_gunicorn_alias(module)


def precompile():
    """Compiles the modules in PRECOMPILED_DIR into sys.modules[PRECOMPILED]; one that cannot be read or compiled is
    left out, for the worker to compile (and report) itself."""
    directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), PRECOMPILED_DIR)
    code = {}
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".py"))
    except OSError:
        names = []  # an older layout: workers compile their own
    for name in names:
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                source = f.read()
            code[name] = (len(source), compile(source, name, "exec"))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
    module = types.ModuleType(PRECOMPILED)
    module.code = code
    sys.modules[PRECOMPILED] = module


def precompiled(name, source):
    """The code precompile() made of this source, else the source compiled now."""
    entry = getattr(sys.modules.get(PRECOMPILED), "code", {}).get(name)
    return entry[1] if entry and entry[0] == len(source) else compile(source, name, "exec")


def preload(app):
    """Imports the application's module once, here, so workers inherit it (Gunicorn's --preload)."""
    module = app.split(":", 1)[0]
    importlib.import_module(module)


def share_with_workers(worker_library, native_library):
    """What forked workers inherit ready-made (see SHARED_MODULES and M_ARENA_MAX), and the worker class's library
    (gevent, eventlet), imported but not patched in, as Gunicorn's master imports it with the worker class. eventlet
    imports ssl, asyncio and the like itself: a worker that imported it after the fork had them before patching too.

    A native build's library is loaded here too: loading it only maps it and relocates its data (several MiB of
    pointers, built without dehydration so that they are there to share: Unicorn.Cli.csproj), which then sit in
    pages every worker shares. Its runtime starts only when a worker first calls in (start_dotnet), after the fork:
    the zygote gains no thread."""
    if native_library:
        try:
            ctypes.PyDLL(native_library)
        except OSError:
            pass  # each worker then fails to load it and says why, as before this sharing
    for name in SHARED_MODULES + ((worker_library,) if worker_library else ()):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # a trimmed Python: the worker will say so if it needs the module
    if "MALLOC_ARENA_MAX" not in os.environ:
        try:
            ctypes.CDLL(None).mallopt(M_ARENA_MAX, WORKER_MALLOC_ARENAS)
        except (OSError, AttributeError):
            pass  # not glibc


def read_request(sock, pending, fds):
    """One line from the master, with any descriptors that came with it; None at end of file."""
    while b"\n" not in pending:
        data, received, _flags, _addr = socket.recv_fds(sock, 1 << 16, 64)
        fds.extend(received)
        if not data:
            return None
        pending.extend(data)
    line, _, rest = bytes(pending).partition(b"\n")
    pending[:] = rest
    return json.loads(line)


def start_dotnet(config, environment):
    """Runs the unicorn program's Main inside this process; returns only if .NET cannot start."""
    if config.get("native_library"):
        # A native build: the worker's code is a shared library; PyDLL keeps the GIL, as below.
        return ctypes.PyDLL(config["native_library"]).unicorn_worker_main()
    fxr = ctypes.CDLL(config["hostfxr"])

    class Parameters(ctypes.Structure):
        _fields_ = [("size", ctypes.c_size_t), ("host_path", ctypes.c_char_p), ("dotnet_root", ctypes.c_char_p)]

    parameters = Parameters(ctypes.sizeof(Parameters), None, config["dotnet_root"].encode())
    argv = (ctypes.c_char_p * 1)(config["assembly"].encode())
    handle = ctypes.c_void_p()
    initialize = fxr.hostfxr_initialize_for_dotnet_command_line
    initialize.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    initialize.restype = ctypes.c_int32
    rc = initialize(1, argv, ctypes.byref(parameters), ctypes.byref(handle))
    if rc < 0:
        sys.stderr.write("unicorn: cannot start .NET in a forked worker from %s (hostfxr error 0x%08x)\n"
                         % (config["hostfxr"], rc & 0xFFFFFFFF))
        return 1
    # PyDLL keeps the GIL during the call: pythonnet finds this thread holding it and adopts it. The
    # worker ends the process itself, after Python's exit work, so this call does not return.
    run = ctypes.PyDLL(config["hostfxr"]).hostfxr_run_app
    run.argtypes = [ctypes.c_void_p]
    run.restype = ctypes.c_int32
    return run(handle)


def set_command_line(title):
    """Rewrites this process's argv in place: what ps and /proc/PID/cmdline show (as a spawned worker's)."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        # After the command name, index 0 is field 3 (state); arg_start and arg_end are fields 48 and 49.
        start, end = int(fields[45]), int(fields[46])
    except (OSError, IndexError, ValueError):
        return
    size = end - start
    if size <= 1:
        return
    data = title.encode()[:size - 1]
    ctypes.memmove(start, data + b"\0" * (size - len(data)), size)


def become_worker(sock, config, request, fds):
    sock.close()
    # The heartbeat file, then (reuse_port) the worker's own slot of the master's listening sockets.
    heartbeat, ports = fds[0], fds[1:]
    for fd in fds:
        os.set_inheritable(fd, True)
    environment = dict(request["env"])
    # The descriptor numbers are this process's: the master's numbers may be taken here.
    environment["UNICORN_HEARTBEAT_FD"] = str(heartbeat)
    environment["UNICORN_PORT_FDS"] = ",".join(str(fd) for fd in ports)
    os.environ.clear()
    os.environ.update(environment)
    set_command_line(request.get("title", "unicorn: worker"))
    for name in WORKER_SIGNALS:
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    # One the master sent since the fork waited, blocked (fork_worker); it now acts as on a spawned worker.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, GROUP_SIGNALS)
    return start_dotnet(config, environment)


def fork_worker(sock, config, request, fds):
    """Forks a worker; returns its pid. The intermediate child exits at once, orphaning the worker."""
    read_end, write_end = os.pipe()
    # Blocked across the fork: one the master sends the new worker before become_worker resets the
    # handlers waits for it there, and is not dropped by ignore().
    signal.pthread_sigmask(signal.SIG_BLOCK, GROUP_SIGNALS)
    try:
        child = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, GROUP_SIGNALS)
        os.close(read_end)
        os.close(write_end)
        raise
    if child != 0:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, GROUP_SIGNALS)
    if child == 0:
        code = 70
        try:
            os.close(read_end)
            worker = os.fork()
            if worker:
                os.write(write_end, str(worker).encode())
                code = 0
            else:
                os.close(write_end)
                code = become_worker(sock, config, request, fds)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        os.waitpid(child, 0)
        data = os.read(read_end, 32)
    finally:
        os.close(read_end)
    if not data:
        raise OSError("the forked child exited before it forked the worker")
    return int(data)


def main():
    config = json.loads(os.environ.pop("UNICORN_ZYGOTE"))
    dirty_source = os.environ.pop("UNICORN_DIRTY_SOURCE", None)
    # What the master added for workers alone (HandOver.WorkerOnly): what the app runs inherits the master's environment.
    for name in os.environ.pop("UNICORN_WORKER_ONLY", "").split(","):
        os.environ.pop(name, None)
    sock = socket.socket(fileno=int(config["fd"]))
    os.set_inheritable(sock.fileno(), False)
    # Caught and dropped rather than SIG_IGN, which programs the app runs would inherit through exec.
    for sig in GROUP_SIGNALS:
        signal.signal(sig, ignore)
    try:
        try:
            precompile()
            prepare(config)
            if config.get("loglevel"):
                route_error_logger(config["loglevel"])
            if config.get("preload"):
                if dirty_source:
                    install_dirty(dirty_source)
                preload(config["app"])
        except BaseException as e:
            send(sock, {"error": "%s: %s" % (type(e).__name__, e), "kind": "app", "traceback": traceback.format_exc()})
            return 1
        return serve(sock, config)
    except ConnectionError:
        # The master went away (closed its end, or was killed): nothing is left to serve.
        return 0


def serve(sock, config):
    threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if threads:
        send(sock, {"error": "the application started threads while it was imported (%s); a forked worker would "
                             "not have them. Start them in post_fork, or set worker_start = 'spawn'"
                             % ", ".join(threads), "kind": "threads"})
        return 1
    share_with_workers(config.get("worker_library"), config.get("native_library"))
    gc.freeze()
    send(sock, {"ready": True})
    pending = bytearray()
    while True:
        fds = []
        request = read_request(sock, pending, fds)
        if request is None:
            return 0
        try:
            if not fds:
                raise OSError("no heartbeat descriptor came with the request")
            send(sock, {"pid": fork_worker(sock, config, request, fds)})
        except ConnectionError:
            raise
        except OSError as e:
            send(sock, {"error": str(e)})
        finally:
            for fd in fds:
                os.close(fd)


def leave(code):
    """Python's exit as the app sees it (atexit functions, logging.shutdown(), stdout and stderr flushed), without
    the interpreter's teardown, as a worker leaves (unicorn_bridge.shutdown: a worker's module, which this process
    only compiles): clearing every module touches every object, which copies each page this process
    shares with its workers only to free it. An eventlet app's zygote spent 1.5 s of CPU on it at each HUP, and
    under load outlived the master's grace second and was killed (bench/results/2026-12-07-users25.md)."""
    try:
        atexit._run_exitfuncs()
    finally:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


if __name__ == "__main__":
    leave(main())
