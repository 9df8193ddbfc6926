namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// The Python half of the server hooks: Gunicorn-shaped <c>server</c>, <c>worker</c>, <c>cfg</c> and <c>log</c> objects
/// built from C# snapshots, and the call itself. Their <c>log</c> writes to the error log when it is called, through a
/// native function (<c>Logging.ErrorLogFunction</c>), from the hook or from any thread it started; the master's
/// <c>server.WORKERS</c>, <c>LISTENERS</c> and <c>num_workers</c> are read live the same way
/// (<c>PythonServerHooks.Master.cs</c>).
/// Runs in the same scope as <see cref="ConfigFileScript"/>.
/// </summary>
internal static class HookScript
{
    public const string Source = """
import contextvars
import logging


class _UnicornLog:
    _NAMES = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "exception": 40, "critical": 50}

    # Gunicorn's statsd logger (with --statsd-host): a record logged at info, debug or log() with
    # extra={"mtype": ..., "metric": ..., "value": ...} is also sent as that metric, and one with an empty message
    # only so. _metric: the native metric(text), set by _UnicornHooks when statsd is configured.
    _STATSD_TYPES = {"gauge": "|g", "counter": "|c|@1.0", "histogram": "|h", "timer": "|ms"}

    def __init__(self, write, metric=None):
        self._write = write
        self._metric = metric

    # Gunicorn's Logger has the two Python loggers as attributes; recipes add filters through them
    # (server.log.access_log.addFilter), which a worker honours (Logging/AccessLogGate.cs).
    @property
    def error_log(self):
        return logging.getLogger("gunicorn.error")

    @property
    def access_log(self):
        return logging.getLogger("gunicorn.access")

    def _emit(self, level, msg, args, with_traceback=False):
        try:
            text = (msg % args) if args else str(msg)
        except Exception:
            text = "%s %r" % (msg, args)
        tb = None
        if with_traceback and sys.exc_info()[0] is not None:
            tb = traceback.format_exc()
        self._write(level, text, tb)

    def _statsd(self, level, msg, args, kwargs):
        extra = kwargs.get("extra")
        if self._metric is None:
            self._emit(level, msg, args)
            return
        try:
            if extra is not None:
                name, value, kind = extra.get("metric"), extra.get("value"), extra.get("mtype")
                if name and value is not None and kind in self._STATSD_TYPES:
                    self._metric("%s:%s%s" % (name, value, self._STATSD_TYPES[kind]))
            if msg:
                self._emit(level, msg, args)
        except Exception:
            self._emit(30, "Failed to log to statsd", (), True)

    def debug(self, msg, *args, **kwargs):
        self._statsd(10, msg, args, kwargs)

    def info(self, msg, *args, **kwargs):
        self._statsd(20, msg, args, kwargs)

    def warning(self, msg, *args, **kwargs):
        self._emit(30, msg, args)

    warn = warning

    def error(self, msg, *args, **kwargs):
        self._emit(40, msg, args)

    def exception(self, msg, *args, **kwargs):
        self._emit(40, msg, args, True)

    def critical(self, msg, *args, **kwargs):
        self._emit(50, msg, args)

    def log(self, lvl, msg, *args, **kwargs):
        if isinstance(lvl, str):
            lvl = self._NAMES.get(lvl.lower(), 20)
        self._statsd(int(lvl), msg, args, kwargs)

    # Gunicorn's statsd logger's own methods, for hooks to call directly (nothing is sent without statsd).
    def gauge(self, name, value):
        self._send("%s:%s|g" % (name, value))

    def increment(self, name, value, sampling_rate=1.0):
        self._send("%s:%s|c|@%s" % (name, value, sampling_rate))

    def decrement(self, name, value, sampling_rate=1.0):
        self._send("%s:-%s|c|@%s" % (name, value, sampling_rate))

    def timer(self, name, value):
        self._send("%s:%s|ms" % (name, value))

    def histogram(self, name, value):
        self._send("%s:%s|h" % (name, value))

    def _send(self, metric):
        if self._metric is not None:
            self._metric(metric)

    def setup(self, cfg):
        # Gunicorn's Logger.setup(cfg) configures the logs from cfg; Unicorn's are configured from the same settings
        # already (configs call server.log.setup(server.app.cfg) in on_starting).
        pass

    def reopen_files(self):
        pass

    def close_on_exec(self):
        pass


class _UnicornSetting:
    def __init__(self, name, value):
        self.name = name
        self.value = value

    def get(self):
        return self.value


class _UnicornConfig:
    def __init__(self, values):
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "settings", {k: _UnicornSetting(k, v) for k, v in values.items()})

    def __getattr__(self, name):
        values = object.__getattribute__(self, "_values")
        if name not in values:
            raise AttributeError("No configuration setting for: %s" % name)
        return values[name]

    def __setattr__(self, name, value):
        raise AttributeError("Invalid access!")

    @property
    def proc_name(self):
        return self._values.get("proc_name") or self._values.get("default_proc_name")

    @property
    def worker_class_str(self):
        uri = self._values.get("worker_class")
        if uri in ("sync", "gunicorn.workers.sync.SyncWorker") and self._values.get("threads", 1) > 1:
            return "gthread"
        return uri

    @property
    def address(self):
        # Gunicorn's cfg.address: each bind parsed as its util.parse_address does (a unix path, an fd number or a
        # (host, port) pair). The arbiter keeps it as server.address; PostHog's on_starting prints it.
        import re

        def parse(netloc, default_port="8000"):
            if re.match(r"unix:(//)?", netloc):
                return re.split(r"unix:(//)?", netloc)[-1]
            if netloc.startswith("fd://"):
                return int(netloc[5:])
            if netloc.startswith("tcp://"):
                netloc = netloc.split("tcp://")[1]
            host, port = netloc, default_port
            if "[" in netloc and "]" in netloc:
                host = netloc.split("]")[0][1:]
                port = (netloc.split("]:") + [default_port])[1]
            elif ":" in netloc:
                host, port = (netloc.split(":") + [default_port])[:2]
            elif netloc == "":
                host, port = "0.0.0.0", default_port
            return host.lower(), int(port)

        return [parse(b) for b in self._values.get("bind") or []]

    @property
    def statsd_host(self):
        # Gunicorn's validated form: the socket path, or (host, port); the master has checked the text already.
        text = self._values.get("statsd_host")
        if text is None:
            return None
        import re

        old_style = re.match(r"^unix:(\d+)$", text)
        if old_style:
            return "unix", int(old_style.group(1))
        if re.match(r"unix:(//)?", text):
            return re.split(r"unix:(//)?", text)[-1]
        netloc = text[6:] if text.startswith("tcp://") else text
        if netloc.startswith("[") and "]" in netloc:
            host, _, port = netloc[1:].partition("]")
            port = port[1:]
        else:
            host, _, port = netloc.partition(":")
        return host.lower(), int(port or 8125)

    @property
    def sendfile(self):
        # Gunicorn's Config.sendfile: False once the setting is given at all (--no-sendfile, or sendfile = True), else
        # $SENDFILE when set, else True.
        if self._values.get("sendfile") is not None:
            return False
        if "SENDFILE" in os.environ:
            return os.environ["SENDFILE"].lower() in ("y", "1", "yes", "true")
        return True

    @property
    def is_ssl(self):
        return bool(self._values.get("certfile") or self._values.get("keyfile"))

    @property
    def uid(self):
        return self._values.get("user")

    @property
    def gid(self):
        return self._values.get("group")

    @property
    def env(self):
        return dict(e.split("=", 1) for e in self._values.get("raw_env") or [])


class _UnicornApp:
    # Gunicorn's Application object as hooks reach it (server.app, worker.app): its cfg and, in a worker once the app
    # has loaded (post_worker_init on), callable and wsgi(), the app object itself.
    def __init__(self, cfg, hooks=None):
        self.cfg = cfg
        self._hooks = hooks

    @property
    def callable(self):
        return self._hooks.loaded_app if self._hooks is not None else None

    def wsgi(self):
        if self.callable is None:
            raise RuntimeError("Unicorn loads the app in each worker, after post_fork: it is not loaded here")
        return self.callable


class _UnicornListener:
    # One of Gunicorn's listener objects: str() is the address as Gunicorn prints it, anything else is the socket's
    # (getsockname, family...), on a duplicate of the process's descriptor made when first needed and closed with it.
    # A worker's (worker.sockets) are named from the socket itself, as Gunicorn's listener classes print themselves.
    def __init__(self, fd, name, https=False):
        self._fd = fd
        self._name = name
        self._https = https
        self._sock = None

    def __str__(self):
        if self._name is None:
            import socket

            addr = self.sock.getsockname()
            if self.sock.family == socket.AF_UNIX:
                self._name = "unix:%s" % (addr.decode() if isinstance(addr, bytes) else addr)
            elif self.sock.family == socket.AF_INET6:
                self._name = "http://[%s]:%d" % addr[:2]
            else:
                self._name = "%s://%s:%d" % (("https" if self._https else "http",) + tuple(addr[:2]))
        return self._name

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self._name)

    @property
    def sock(self):
        if self._sock is None:
            import socket

            self._sock = socket.socket(fileno=os.dup(self._fd))
        return self._sock

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.sock, name)


class _UnicornServer:
    # Gunicorn's arbiter as hooks use it. In the master, num_workers, WORKERS and LISTENERS are live (read when asked,
    # also from a thread a hook started); in a worker (post_fork, worker_exit) WORKERS and LISTENERS are empty.
    def __init__(self, snap, hooks):
        self._update(snap, hooks)

    def _update(self, snap, hooks):
        self.pid = snap["pid"]
        self._num_workers = snap["num_workers"]
        self._hooks = hooks
        self.cfg = hooks.cfg
        self.log = hooks.log
        self.app = _UnicornApp(hooks.cfg)
        self._proc_name = None
        self.timeout = hooks.cfg.timeout
        self.worker_class = hooks.cfg.worker_class
        self.address = hooks.cfg.address

    @property
    def proc_name(self):
        # The arbiter's, as Gunicorn's: NAME.2 in a USR2 master until it is promoted.
        if self._proc_name is not None:
            return self._proc_name
        state = self._master()
        return (state and state.get("proc_name")) or self.cfg.proc_name

    @proc_name.setter
    def proc_name(self, value):
        self._proc_name = value

    def _master(self):
        state = self._hooks.master()
        return json.loads(state) if state is not None else None

    @property
    def num_workers(self):
        state = self._master()
        return state["num_workers"] if state else self._num_workers

    @property
    def WORKERS(self):
        state = self._master()
        return {w["pid"]: self._hooks.master_worker(w, state) for w in state["workers"]} if state else {}

    @property
    def LISTENERS(self):
        state = self._master()
        return [_UnicornListener(l["fd"], l["name"]) for l in state["listeners"]] if state else []

    def kill_worker(self, pid, sig):
        # As Gunicorn's: a worker that has already gone is no error. The master replaces a worker that exits.
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def kill_workers(self, sig):
        for pid in list(self.WORKERS):
            self.kill_worker(pid, sig)


class _UnicornWorkerTmp:
    # Gunicorn's worker.tmp (WorkerTmp) over the worker's heartbeat file, which the worker itself keeps beating (so
    # notify() and close() leave it alone). last_update() is the last beat on the monotonic clock, as Gunicorn's
    # notify() stamps the file's mtime with time.monotonic().
    def __init__(self, fd):
        self._fd = fd

    def notify(self):
        pass

    def last_update(self):
        data = os.pread(self._fd, 8, 0)
        return int.from_bytes(data, "little") / 1e9 if len(data) == 8 else 0.0

    def fileno(self):
        return self._fd

    def close(self):
        pass


class _UnicornWorker:
    # Set by Unicorn; anything else a master hook sets (pre_fork's worker._worker_id) is handed to the worker process.
    _OWN = frozenset(("pid", "ppid", "age", "alive", "exitcode", "cfg", "log", "booted", "app", "_hooks",
                      "nr", "max_requests", "sockets", "tmp"))

    def __init__(self, snap, hooks):
        self._hooks = hooks
        self.nr = 0
        self.sockets = []
        self.tmp = None
        self._update(snap)
        self.cfg = hooks.cfg
        self.log = hooks.log
        self.booted = True
        self.app = _UnicornApp(hooks.cfg, hooks)

    @property
    def wsgi(self):
        # The loaded app, as Gunicorn's worker.wsgi from post_worker_init on (hooks reach Flask's or Django's app here).
        if self._hooks.loaded_app is None:
            raise AttributeError("'Worker' object has no attribute 'wsgi' (the app loads after post_fork)")
        return self._hooks.loaded_app

    def __str__(self):
        return "<Worker %s>" % self.pid

    def _update(self, snap):
        # Gunicorn's worker shows "[booting]" until it is forked (pre_fork).
        self.pid = snap["pid"] or "[booting]"
        self.ppid = snap["ppid"]
        self.age = snap["age"]
        self.alive = snap["alive"]
        self.exitcode = snap.get("exitcode")
        # Gunicorn's worker counts requests in nr; with request hooks the hooks object counts them as Gunicorn does
        # (call_request), else the snapshot has the worker's count. max_requests: the limit with jitter, or
        # sys.maxsize for none, as Gunicorn sets it.
        if not self._hooks.counts_requests:
            self.nr = snap.get("nr") or 0
        self.max_requests = snap.get("max_requests") or sys.maxsize
        if self.tmp is None and snap.get("tmp") is not None:
            # The worker process's own object: its listeners and heartbeat file, which stay for its life.
            self.sockets = [_UnicornListener(fd, None, self._hooks.cfg.is_ssl) for fd in snap.get("sockets") or []]
            self.tmp = _UnicornWorkerTmp(snap["tmp"])


class _UnicornRequest:
    def __init__(self, d):
        self.method = d["method"]
        self.uri = d["uri"]
        self.path = d["path"]
        self.query = d["query"]
        self.fragment = ""
        self.version = tuple(d["version"])
        self.headers = [(k.upper(), v) for k, v in d["headers"]]
        self.scheme = d["scheme"]
        self.peer_addr = tuple(d["peer"]) if d["peer"] else None
        self.remote_addr = self.peer_addr
        self.body = None
        self._original = (self.method, self.uri, self.path, self.query, list(self.headers))

    def _rewrite(self):
        # What pre_request changed that Gunicorn's wsgi.create reads (method, uri, path, query, headers), as JSON for
        # the environ, or None when it changed none of them.
        now = (self.method, self.uri, self.path, self.query, self.headers)
        if now == self._original:
            return None
        return json.dumps({
            "method": str(self.method), "uri": str(self.uri), "path": str(self.path), "query": str(self.query),
            "headers": [[str(k), str(v)] for k, v in self.headers],
        })


def _unicorn_rewrite_environ(environ, rewrite_json):
    # The greenlet workers build the environ before pre_request runs: apply what it changed as Gunicorn's
    # wsgi.create maps the req (the threaded workers build the environ from the rewritten request instead).
    from urllib.parse import unquote_to_bytes

    r = json.loads(rewrite_json)
    environ["REQUEST_METHOD"] = r["method"]
    environ["RAW_URI"] = r["uri"]
    environ["QUERY_STRING"] = r["query"]
    path, script_name = r["path"], environ.get("SCRIPT_NAME", "")
    if script_name and path.startswith(script_name):
        path = path[len(script_name):]
    environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1")
    for key in [k for k in environ if k.startswith("HTTP_") or k in ("CONTENT_TYPE", "CONTENT_LENGTH")]:
        del environ[key]
    for name, value in r["headers"]:
        upper = name.upper()
        if upper == "CONTENT-TYPE":
            environ["CONTENT_TYPE"] = value
        elif upper == "CONTENT-LENGTH":
            environ["CONTENT_LENGTH"] = value
        else:
            key = "HTTP_" + upper.replace("-", "_")
            environ[key] = environ[key] + "," + value if key in environ else value


class _UnicornResponse:
    def __init__(self, d):
        self.status = d["status"]
        # Gunicorn's WSGI resp.status is "200 OK"; its ASGI worker's is the int the app sent.
        self.status_code = self.status if isinstance(self.status, int) else int(self.status.split(None, 1)[0])
        self.headers = [tuple(h) for h in d["headers"]]
        self.sent = d["sent"]
        self.response_length = d["sent"]


def _unicorn_default_pre_request(worker, req):
    # Gunicorn's default pre_request: a worker at debug level runs it.
    worker.log.debug("%s %s", req.method, req.path)


def _unicorn_hook_state():
    # What outlives one hooks object (a HUP loads new ones): the server object and the master's worker objects by age,
    # which hooks keep state on as on Gunicorn's arbiter and worker objects (authentik numbers its workers so).
    state = sys.modules.get("_unicorn_hook_state")
    if state is None:
        state = sys.modules["_unicorn_hook_state"] = types.ModuleType("_unicorn_hook_state")
        state.server = None
        state.workers = {}
    return state


class _UnicornHookImportError(Exception):
    pass


class _UnicornHooks:
    def __init__(self, settings_json, kind, target, workdir, refs_json, write, master, carried_json, metric=None):
        self.log = _UnicornLog(write)
        # worker.nr as Gunicorn counts it (a request past pre_request), when request hooks see every request.
        self._requests = 0
        self.master = master
        self.loaded_app = None
        # A worker process's own worker object and each request's req between pre_request and post_request are kept,
        # as Gunicorn's are the same objects: hooks keep state on them (worker.start_time, req.start_time). The req is
        # kept in a context variable: its own to each thread, greenlet and asyncio task that runs requests.
        self._own_worker = None
        self._from_pre_fork = json.loads(carried_json) if carried_json else {}  # HandOver.HookWorkerState
        self._pending = contextvars.ContextVar("unicorn_pending_request", default=None)
        self.cfg = _UnicornConfig(json.loads(settings_json))
        if self.cfg.statsd_host:
            self.log._metric = metric
        module = _unicorn_config_module(kind, target, workdir) if target else None
        self.hooks = {}
        for name, (origin, path) in json.loads(refs_json).items():
            if origin == "ConfigFile":
                fn = getattr(module, name)
            elif origin == "Default":
                fn = globals()[path]
            else:
                mod_name, attr = path.rsplit(".", 1)
                try:
                    fn = getattr(importlib.import_module(mod_name), attr)
                except Exception as e:
                    # Named as Gunicorn's "Invalid value for when_ready: mod.func" does, in one line.
                    raise _UnicornHookImportError("%s = %r: %s: %s" % (name, path, type(e).__name__, e)) from None
            self.hooks[name] = fn
        self.counts_requests = "pre_request" in self.hooks or "post_request" in self.hooks

    def ssl_context(self):
        return _unicorn_ssl_context(self.hooks["ssl_context"], self.cfg)

    def call(self, name, args_json):
        args = []
        for arg in json.loads(args_json):
            if "server" in arg:
                args.append(self._server(arg["server"]))
            elif "worker" in arg:
                args.append(self._worker(arg["worker"]))
            else:
                args.append(arg["value"])
        self.hooks[name](*args)
        if name == "pre_fork":
            return self._carried(args[1])
        return None

    def _server(self, snap):
        state = _unicorn_hook_state()
        if state.server is None or state.server.pid != snap["pid"]:
            state.server = _UnicornServer(snap, self)
        else:
            state.server._update(snap, self)
        return state.server

    def master_worker(self, snap, master=None):
        # The master's object for a worker, by age: pre_fork's (pid "[booting]") is the one WORKERS and child_exit show.
        workers = _unicorn_hook_state().workers
        worker = workers.get(snap["age"])
        if worker is None:
            worker = workers[snap["age"]] = _UnicornWorker(snap, self)
        else:
            worker._update(snap)
        if master is None:
            state = self.master()
            master = json.loads(state) if state is not None else {"workers": []}
        # Forget workers that have gone (older than the newest running one, and not running), so churn does not
        # grow this; one pre_fork has just seen is newer than every running one.
        ages = {w["age"] for w in master["workers"]}
        newest = max(ages, default=0)
        for age in [a for a in workers if a not in ages and a < newest]:
            del workers[age]
        return worker

    @staticmethod
    def _carried(worker):
        carried = {}
        for key, value in vars(worker).items():
            if key in _UnicornWorker._OWN:
                continue
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                continue  # not something that can cross to the worker process
            carried[key] = value
        return json.dumps(carried) if carried else None

    @staticmethod
    def rewrite_environ(environ, rewrite_json):
        _unicorn_rewrite_environ(environ, rewrite_json)

    def set_app(self, app):
        self.loaded_app = app

    def _worker(self, snap):
        if snap["pid"] != os.getpid():
            return self.master_worker(snap)
        if self._own_worker is None:
            self._own_worker = _UnicornWorker(snap, self)
            for key, value in self._from_pre_fork.items():
                setattr(self._own_worker, key, value)
        else:
            self._own_worker._update(snap)
        return self._own_worker

    def call_request(self, name, worker_json, req_json, resp_json, environ):
        fn = self.hooks[name]
        worker = self._worker(json.loads(worker_json))
        snap = json.loads(req_json)
        pending = self._pending.get()
        self._pending.set(None)
        if name == "pre_request":
            req = _UnicornRequest(snap)
            if "post_request" in self.hooks:
                self._pending.set((snap, req))
            worker.nr = self._requests
            fn(worker, req)
            # Gunicorn counts the request once pre_request has passed, before the app runs.
            self._requests += 1
            return req._rewrite()
        if "pre_request" not in self.hooks:
            self._requests += 1
        worker.nr = self._requests
        req = pending[1] if pending is not None and pending[0] == snap else _UnicornRequest(snap)
        args = [worker, req, environ, _UnicornResponse(json.loads(resp_json))]
        arity = _unicorn_arity(fn)
        fn(*args[:arity] if arity in (2, 3) else args)
""";
}
