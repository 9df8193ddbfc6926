namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// The Python half of config-file execution. It runs the file as the module <c>__config__</c> (as Gunicorn does),
/// then describes each global that names a setting as JSON, so C# never walks Python objects one by one.
/// Callables carry their arity counted as Gunicorn counts it (positional parameters), classes their dotted name.
/// </summary>
internal static class ConfigFileScript
{
    public const string FunctionName = "_unicorn_read_config";

    public const string Source = """
import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import os
import sys
import traceback
import types


def _unicorn_arity(f):
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return -1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in sig.parameters.values() if p.kind in kinds)


def _unicorn_describe(value, depth=0):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth > 20:
        return {"$object": type(value).__name__, "repr": "<too deep>"}
    if inspect.isclass(value):
        return {"$class": value.__module__ + "." + value.__qualname__}
    if isinstance(value, (list, tuple)):
        return [_unicorn_describe(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {"$dict": [[str(k), _unicorn_describe(v, depth + 1)] for k, v in value.items()]}
    if callable(value):
        name = getattr(value, "__qualname__", None) or type(value).__qualname__
        return {"$callable": name, "arity": _unicorn_arity(value)}
    return {"$object": type(value).__name__, "repr": repr(value)}


def _unicorn_where(exc, filename):
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        return exc.filename or filename, exc.lineno
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if filename and os.path.abspath(f.filename) == os.path.abspath(filename)]
    frame = (inside or frames or [None])[-1]
    return (frame.filename, frame.lineno) if frame is not None else (filename, None)


def _unicorn_exec_config(kind, target, workdir):
    if workdir not in sys.path:
        sys.path.insert(0, workdir)
    if kind == "module":
        return importlib.import_module(target)
    name = "__config__"
    snapshot = getattr(sys, "_unicorn_config_source", None)
    if snapshot is not None and snapshot[0] == os.path.abspath(target):
        # A worker: the bytes the master ran (Settings.ConfigFileSource), not the file as it is now.
        module = types.ModuleType(name)
        module.__file__ = target
        sys.modules[name] = module
        exec(compile(snapshot[1], target, "exec"), module.__dict__)
        return module
    if os.path.splitext(target)[1] in (".py", ".pyc"):
        spec = importlib.util.spec_from_file_location(name, target)
    else:
        loader = importlib.machinery.SourceFileLoader(name, target)
        spec = importlib.util.spec_from_file_location(name, target, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _unicorn_config_module(kind, target, workdir):
    # The config module already run in this process (by the resolver), else run it now.
    if kind == "file":
        current = sys.modules.get("__config__")
        if current is not None and os.path.abspath(getattr(current, "__file__", None) or "") == os.path.abspath(target):
            return current
    return _unicorn_exec_config(kind, target, workdir)


def _unicorn_read_config(kind, target, workdir, names_json):
    names = set(json.loads(names_json))
    filename = target if kind == "file" else None
    server = getattr(sys.modules.get("gunicorn"), "SERVER", "gunicorn")
    environ_before, path_before = dict(os.environ), list(sys.path) + [workdir]
    try:
        module = _unicorn_exec_config(kind, target, workdir)
    except BaseException as exc:
        where, line = _unicorn_where(exc, filename)
        if kind == "module" and isinstance(exc, ModuleNotFoundError) and exc.name \
                and (target + ".").startswith(exc.name + "."):
            where, line = None, None  # -c python:MOD names no module to import: no file, and importlib's frames are noise
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
        return json.dumps({"error": text, "file": where or (target if kind == "file" else None), "line": line})
    if kind == "module":
        filename = getattr(module, "__file__", None)
    found = [[k, _unicorn_describe(v)] for k, v in vars(module).items() if k in names]
    # Gunicorn sends gunicorn.SERVER as its Server header; configs set it to hide the server's name.
    changed = getattr(sys.modules.get("gunicorn"), "SERVER", None)
    if changed is not None and changed != server:
        found.append(["gunicorn.SERVER", _unicorn_describe(changed)])
    # What its module level did to os.environ and sys.path, which Gunicorn's workers inherit from the master that ran
    # it (os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...), sys.path.insert(0, ...)).
    environ = {k: v for k, v in os.environ.items() if environ_before.get(k) != v}
    path = [p for p in sys.path if p not in path_before and isinstance(p, str)]
    return json.dumps({"values": found, "file": filename, "environ": environ, "path": path})
""";
}
