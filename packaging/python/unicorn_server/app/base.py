"""Gunicorn's "Custom Application" API (gunicorn.app.base.BaseApplication) for Unicorn.

A subclass sets settings in load_config() with self.cfg.set(name, value), returns the WSGI app from load(),
and calls run(). Unicorn's master is a separate program, so run() hands it what the subclass chose and
execs it (the calling process becomes the master, pid kept, as Gunicorn's does): plain values travel as
JSON, and the app and any callable setting (hooks, a worker class) by where they are defined, module:name,
which the master and its workers import (unicorn_server.app.config reads them back). A value that is
neither plain nor defined at module level is refused in one line.
"""
import ast
import importlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys

from unicorn_server.app import validators

# The environment variable that carries the settings to unicorn_server.app.config.
SETTINGS_ENV = "UNICORN_BASE_APPLICATION"
CONFIG_MODULE = "unicorn_server.app.config"


def _refuse(message):
    sys.stderr.write("unicorn: %s\n" % message)
    sys.stderr.flush()
    sys.exit(1)


def server_program():
    """The unicorn program: the wheel's own binary, else `unicorn` on PATH (a source checkout's script)."""
    from unicorn_server import BINARY

    if os.access(BINARY, os.X_OK):
        return BINARY
    found = shutil.which("unicorn")
    if found is None:
        _refuse("cannot find the unicorn program (neither %s nor `unicorn` on PATH)" % BINARY)
    return found


# What a unicorn master hands its workers: a program run from inside one must not read them as its own.
HAND_OVER = ("UNICORN_WORKER", "UNICORN_LISTEN_FDS", "UNICORN_HEARTBEAT_FD", "UNICORN_MASTER_PID",
             "UNICORN_WORKER_AGE", "UNICORN_SETTINGS", "UNICORN_PYTHON_INFO", "UNICORN_FORKED_WORKER",
             "UNICORN_DAEMONIZED", "UNICORN_SYSTEMD_FDS", "UNICORN_SCRIPT_ARGV", SETTINGS_ENV)


def _server_environment():
    env = {key: value for key, value in os.environ.items() if key not in HAND_OVER}
    env.setdefault("UNICORN_PYTHON", sys.executable)
    # Gunicorn's BaseApplication reads no command line and no GUNICORN_CMD_ARGS: only what load_config set.
    env.pop("GUNICORN_CMD_ARGS", None)
    return env


_UNSET = object()


class Setting:
    """One setting: its name, its value (the default until set) and the validator Gunicorn's Config.set runs on it."""

    def __init__(self, name, validator_name, default):
        self.name = name
        self.validator_name = validator_name
        self.validator = validators.validator(validator_name)
        self.default = default
        self.value = default
        self.given = _UNSET  # what set() was given, which run() hands to the master

    def get(self):
        return self.value

    def set(self, value):
        self.value = self.validator(value)
        self.given = value

    def __repr__(self):
        return "<%s.%s object at %x with value %r>" % (type(self).__module__, type(self).__name__, id(self), self.value)


class Config:
    """self.cfg: every setting the unicorn program knows; set() converts and checks a value as Gunicorn's does."""

    def __init__(self, usage=None, prog=None):
        object.__setattr__(self, "_settings", None)
        object.__setattr__(self, "usage", usage)
        object.__setattr__(self, "prog", prog or os.path.basename(sys.argv[0]))
        object.__setattr__(self, "env_orig", os.environ.copy())

    @property
    def settings(self):
        if self._settings is None:
            object.__setattr__(self, "_settings", self._read_settings())
        return self._settings

    def set(self, name, value):
        if name not in self.settings:
            raise AttributeError("No configuration setting for: %s" % name)
        self.settings[name].set(value)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self.settings:
            raise AttributeError("No configuration setting for: %s" % name)
        return self.settings[name].get()

    def __setattr__(self, name, value):
        if not name.startswith("_") and name in self.settings:
            raise AttributeError("Invalid access!")
        object.__setattr__(self, name, value)

    def __str__(self):
        width = max(len(name) for name in self.settings)
        lines = []
        for name in sorted(self.settings):
            value = self.settings[name].value
            if callable(value):
                value = "<%s()>" % value.__qualname__
            lines.append("%s = %s" % (name.ljust(width), value))
        return "\n".join(lines)

    @property
    def explicit(self):
        """The settings set() was given, with what it was given (not the converted value: the master converts it)."""
        if self._settings is None:
            return {}
        return {name: s.given for name, s in self._settings.items() if s.given is not _UNSET}

    # Gunicorn's derived values, as its Config computes them from the settings.
    @property
    def worker_class_str(self):
        uri = self.settings["worker_class"].get()
        if isinstance(uri, str):
            if (uri == "sync" or uri.endswith("SyncWorker")) and self.threads > 1:
                return "gthread"
            return uri
        return uri.__name__

    @property
    def address(self):
        return [validators.parse_address(_text(bind)) for bind in self.settings["bind"].get()]

    @property
    def uid(self):
        return self.settings["user"].get()

    @property
    def gid(self):
        return self.settings["group"].get()

    @property
    def proc_name(self):
        name = self.settings["proc_name"].get()
        return name if name is not None else self.settings["default_proc_name"].get()

    @property
    def is_ssl(self):
        return self.certfile or self.keyfile

    @property
    def env(self):
        env = {}
        for entry in self.settings["raw_env"].get() or []:
            key, sep, value = _text(entry).partition("=")
            if not sep:
                raise RuntimeError("environment setting %r invalid" % _text(entry))
            env[key] = value
        return env

    @property
    def sendfile(self):
        # Gunicorn's rule: a sendfile setting that was set at all turns sendfile off; else $SENDFILE decides.
        if self.settings["sendfile"].get() is not None:
            return False
        if "SENDFILE" in os.environ:
            return os.environ["SENDFILE"].lower() in ("y", "1", "yes", "true")
        return True

    @property
    def reuse_port(self):
        return self.settings["reuse_port"].get()

    @property
    def paste_global_conf(self):
        raw = self.settings["raw_paste_global_conf"].get()
        if raw is None:
            return None
        conf = {}
        for entry in raw:
            parts = re.split(r"(?<!\\)=", _text(entry), maxsplit=1)
            if len(parts) != 2:
                raise RuntimeError("environment setting %r invalid" % _text(entry))
            conf[parts[0].replace("\\=", "=")] = parts[1].replace("\\=", "=")
        return conf

    def forwarded_allow_networks(self):
        return [ipaddress.ip_network(a) for a in self.forwarded_allow_ips if a != "*"]

    def proxy_allow_networks(self):
        return [ipaddress.ip_network(a) for a in self.proxy_allow_ips if a != "*"]

    def defaults(self):
        """Every setting's validator and default as JSON can carry them (run() hands them on, see _read_settings)."""
        plain = {}
        for name, setting in self.settings.items():
            value = setting.default
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                value = repr(value)
            plain[name] = [setting.validator_name, value]
        return plain

    @staticmethod
    def _read_settings():
        """Asks the unicorn program for its settings, each with its validator and default (--print-config), so the
        two cannot drift. Inside the master and workers run() started (a module that builds the application object
        at import), the list run() handed on is read instead of starting the program again."""
        handed = os.environ.get(SETTINGS_ENV)
        if handed is not None:
            return {name: Setting(name, validator, value)
                    for name, (validator, value) in json.loads(handed)["defaults"].items()}
        program = server_program()
        env = _server_environment()
        env["UNICORN_PRINT_CONFIG_VALIDATORS"] = "1"
        result = subprocess.run([program, "-c", "/dev/null", "--print-config", "unicorn_server:main"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        if result.returncode != 0:
            _refuse("%s --print-config failed: %s" % (program, (result.stderr.strip().splitlines() or ["no output"])[-1]))
        settings = {}
        for line in result.stdout.splitlines():
            head, sep, raw = line.partition(" = ")  # name validator = repr(default)
            if not sep:
                continue
            name, _, validator = head.partition(" ")
            try:
                value = ast.literal_eval(raw)
            except (ValueError, SyntaxError):
                value = raw  # a hook's default, <Class.name()>
            settings[name] = Setting(name, validator, value)
        return settings


def _plain(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _text(value):
    return value if isinstance(value, str) else str(value, "latin1")


class BaseApplication:
    """Subclass it: load_config() sets self.cfg, load() returns the WSGI app; then call run()."""

    def __init__(self, usage=None, prog=None):
        self.usage = usage
        self.cfg = None
        self.callable = None
        self.prog = prog
        self.logger = None
        self.do_load_config()

    def do_load_config(self):
        try:
            self.load_default_config()
            self.load_config()
        except Exception as e:  # Gunicorn's wording: the error, then exit 1
            print("\nError: %s" % str(e), file=sys.stderr)
            sys.stderr.flush()
            sys.exit(1)

    def load_default_config(self):
        self.cfg = Config(self.usage, prog=self.prog)

    def init(self, parser, opts, args):
        raise NotImplementedError

    def load(self):
        raise NotImplementedError

    def load_config(self):
        raise NotImplementedError

    def reload(self):
        self.do_load_config()

    def wsgi(self):
        if self.callable is None:
            self.callable = self.load()
        return self.callable

    def run(self):
        """Execs the unicorn master with the settings load_config() set, serving the app load() returned."""
        if SETTINGS_ENV in os.environ:
            # Inside the master or a worker, importing the script: the server reports this in one line.
            caller = sys._getframe(1).f_globals.get("__file__") or "the script"
            raise RuntimeError("%s calls %s.run() when imported; Unicorn's master and workers import it, so call "
                               "run() under `if __name__ == '__main__':`" % (caller, type(self).__name__))
        paths = []
        app = self.wsgi()
        if isinstance(app, str):
            # An import string ("myproj.api:app", as hyperglass returns for uvicorn's worker, which imports it):
            # the master and the workers import it, from where the script would (its sys.path[0]).
            target = app
            if sys.path and sys.path[0]:
                _add(paths, os.path.abspath(sys.path[0]))
        else:
            target = locate(app, "the app %s.load() returned" % type(self).__name__, paths)
        values, references = {}, {}
        for name, value in self.cfg.explicit.items():
            if callable(value):
                references[name] = locate(value, "the value of cfg.set(%r)" % name, paths)
                continue
            if not _plain(value) and _plain(self.cfg.settings[name].value):
                value = self.cfg.settings[name].value  # what set() made of it (a set of addresses: a list)
            if not _plain(value):
                _refuse("cfg.set(%r, %r): Unicorn hands settings to its master as plain values (str, number, bool, "
                        "None, list, dict) or module-level callables; this is neither" % (name, value))
            values[name] = value
        spec = {"path": paths, "values": values, "references": references, "defaults": self.cfg.defaults()}
        # `gunicorn.SERVER = "..."` in the script (the usual way to hide the Server header): the master reads it
        # from its config module, as it reads it from a config file.
        server = getattr(sys.modules.get("gunicorn"), "SERVER", None)
        if isinstance(server, str) and server != "gunicorn":
            spec["server"] = server
        env = _server_environment()
        env[SETTINGS_ENV] = json.dumps(spec)
        # The app's sys.argv in the workers is the script's, as under Gunicorn, where they are forks of this process.
        env["UNICORN_SCRIPT_ARGV"] = json.dumps(sys.argv)
        program = server_program()
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(program, [program, "-c", "python:" + CONFIG_MODULE, target], env)


def locate(obj, what, paths):
    """module:name where obj is defined at module level (the importable name of __main__); records the
    directory that import needs in paths. Refuses, in one line, an object no module holds."""
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(module_name, str) and isinstance(qualname, str) and "<" not in qualname:
        module = sys.modules.get(module_name)
        if module is not None and _lookup(module, qualname) is obj:
            return _reference(module, qualname, what, paths)
    # An instance (a Flask or Django app object): the module-level name bound to it, the script's first. A name the
    # script binds only under its `if __name__ == '__main__':` (`from myproj.wsgi import application` there, as
    # Gunicorn's users write it) does not exist when the workers import the script: the module it came from does.
    modules = [sys.modules.get("__main__")] + [m for n, m in list(sys.modules.items()) if n != "__main__"]
    guarded = None
    for module in modules:
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, value in list(namespace.items()):
            if value is obj and not name.startswith("__"):
                if module is modules[0] and _only_under_main_guard(module, name):
                    guarded = guarded or name
                    continue
                return _reference(module, name, what, paths)
    if guarded is not None:
        return _reference(modules[0], guarded, what, paths)
    _refuse("%s (%r) is not bound to a name at module level; Unicorn's master and workers import it, so "
            "assign it to a module-level name (e.g. app = create_app()) and return that" % (what, obj))


def _reference(module, name, what, paths):
    """module:name; refuses a name the script binds only under `if __name__ == '__main__':`, a block that does
    not run when the master and workers import the script (they would fail to find it, after starting)."""
    file = getattr(module, "__file__", None)
    top = name.split(".")[0]
    if _only_under_main_guard(module, top):
        _refuse("%s is bound to %s only under `if __name__ == '__main__':` in %s; Unicorn's master and workers "
                "import the script as a module, where that block does not run, so bind it at module level" % (what, top, file))
    return "%s:%s" % (_importable(module, paths), name)


def _only_under_main_guard(module, name):
    file = getattr(module, "__file__", None)
    return module.__name__ == "__main__" and bool(file) and _bound_only_under_main_guard(file, name.split(".")[0])


def _bound_only_under_main_guard(file, name):
    try:
        with open(file, "rb") as f:
            tree = ast.parse(f.read(), file)
    except (OSError, SyntaxError, ValueError):
        return False
    guarded = elsewhere = False
    for node in tree.body:
        if _is_main_guard(node):
            guarded = guarded or name in _bound(node.body)
            elsewhere = elsewhere or name in _bound(node.orelse)
        elif name in _bound([node]):
            elsewhere = True
    # A `global NAME` in a function or a star import may bind it at import time too: then it is not refused.
    for node in ast.walk(tree):
        if isinstance(node, ast.Global) and name in node.names:
            elsewhere = True
        elif isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            elsewhere = True
    return guarded and not elsewhere


def _is_main_guard(node):
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare) or len(node.test.comparators) != 1:
        return False
    sides = [node.test.left, node.test.comparators[0]]
    return (isinstance(node.test.ops[0], ast.Eq)
            and any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _bound(statements):
    """The names these statements bind in their own (module) scope, not in the functions and classes they define."""
    names = set()
    stack = list(statements)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        stack.extend(ast.iter_child_nodes(node))
    return names


def _lookup(module, qualname):
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj


def _importable(module, paths):
    """The name other interpreters import module by, adding the directory it is found in to paths."""
    name = module.__name__
    file = getattr(module, "__file__", None)
    if name == "__main__":
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.name and spec.name != "__main__":
            name = spec.name  # python -m package.module: found from the current directory
            _add(paths, os.getcwd())
            return name[:-len(".__main__")] if name.endswith(".__main__") else name
        if not file:
            _refuse("the application is defined in an interactive session; Unicorn's workers import it, so "
                    "define it in a file")
        name = os.path.splitext(os.path.basename(file))[0]
        if not name.isidentifier():
            _refuse("%s cannot be imported by Unicorn's workers: its name is not a Python module name" % file)
        _add(paths, os.path.dirname(os.path.abspath(file)))
        return name
    if file:
        root = os.path.dirname(os.path.abspath(file))
        if os.path.basename(file).startswith("__init__."):
            root = os.path.dirname(root)
        for _ in range(name.count(".")):
            root = os.path.dirname(root)
        _add(paths, root)
    return name


def _add(paths, path):
    if path not in paths:
        paths.append(path)
