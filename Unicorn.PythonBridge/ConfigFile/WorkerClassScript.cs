namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// The Python half of reading a uvicorn worker subclass (uvicorn's documented way to pass it settings under Gunicorn:
/// a class that sets <c>CONFIG_KWARGS</c>). The module's source is parsed, not imported: uvicorn's worker module
/// imports Gunicorn, which need not be installed beside Unicorn, and the master runs none of the app's code for it.
/// Only a <c>CONFIG_KWARGS</c> whose values are computed when the module runs makes the master import the class, as
/// Gunicorn's does.
/// Answers JSON: null when the path names no such class, else the base class and the keyword arguments (described as
/// config values are), or an error saying what Unicorn cannot run.
/// </summary>
internal static class WorkerClassScript
{
    public const string FunctionName = "_unicorn_read_worker_class";

    public const string Source = """
import ast
import importlib.util
import json
import sys
import tokenize

_UVICORN_BASES = {
    "UvicornWorker": "uvicorn.workers.UvicornWorker",
    "UvicornH11Worker": "uvicorn.workers.UvicornH11Worker",
}


def _unicorn_find_source(module, dirs):
    saved = list(sys.path)
    sys.path[:0] = [d for d in dirs if d not in sys.path]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    finally:
        sys.path[:] = saved
    origin = getattr(spec, "origin", None) if spec is not None else None
    return origin if origin and origin.endswith(".py") else None


def _unicorn_literal(key, node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        # literal_eval's own message names an ast node object; say which value and why instead.
        what = "a key" if key is None else "CONFIG_KWARGS[%r]" % (key,)
        raise ValueError("%s is computed when the module runs (line %d: %s)" % (what, node.lineno, ast.unparse(node))) from None


def _unicorn_literal_kwargs(node):
    if isinstance(node, ast.Dict):
        pairs = []
        for key, value in zip(node.keys, node.values):
            if key is None:
                # {**UvicornWorker.CONFIG_KWARGS, ...}: the base's own are loop and http "auto", the defaults here.
                continue
            k = _unicorn_literal(None, key)
            pairs.append((k, _unicorn_literal(k, value)))
        return pairs
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return [(k.arg, _unicorn_literal(k.arg, k.value)) for k in node.keywords if k.arg is not None]
    raise ValueError("CONFIG_KWARGS is not a literal dict")


def _unicorn_imported_kwargs(module, name, dirs):
    # A CONFIG_KWARGS computed when the module runs (paperless-ngx's reads Django's settings): the class is imported,
    # as Gunicorn's master imports the worker class, with the app's directories on sys.path for the import only.
    saved = list(sys.path)
    sys.path[:0] = [d for d in dirs if d not in sys.path]
    try:
        return list(dict(getattr(importlib.import_module(module), name).CONFIG_KWARGS).items())
    finally:
        sys.path[:] = saved


def _unicorn_read_worker_class(path, dirs_json):
    module, _, name = path.rpartition(".")
    if not module or not name.isidentifier():
        return json.dumps(None)
    source = _unicorn_find_source(module, json.loads(dirs_json))
    if source is None:
        return json.dumps(None)
    try:
        with tokenize.open(source) as f:
            tree = ast.parse(f.read(), source)
    except (OSError, SyntaxError, ValueError):
        return json.dumps(None)
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name), None)
    if cls is None:
        return json.dumps(None)
    # `from uvicorn.workers import UvicornWorker as BaseUvicornWorker` (Saleor's gunicorn_worker.py): the base is
    # named by its alias.
    aliases = {a.asname: a.name for n in tree.body if isinstance(n, ast.ImportFrom)
               and n.module in ("uvicorn.workers", "uvicorn_worker", "uvicorn_worker._workers")
               for a in n.names if a.asname and a.name in _UVICORN_BASES}
    leaves = [aliases.get(b.id, b.id) if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else None
              for b in cls.bases]
    base = next((_UVICORN_BASES[leaf] for leaf in leaves if leaf in _UVICORN_BASES), None)
    if base is None:
        return json.dumps(None)
    kwargs = []
    for stmt in cls.body:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            continue  # the docstring
        if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
            continue  # a bare annotation (authentik's `_worker_id: int`) defines nothing on the class
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else \
            stmt.target if isinstance(stmt, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == "CONFIG_KWARGS" and stmt.value is not None:
            try:
                kwargs = _unicorn_literal_kwargs(stmt.value)
            except ValueError as e:
                try:
                    kwargs = _unicorn_imported_kwargs(module, name, json.loads(dirs_json))
                except Exception as failed:
                    return json.dumps({"error": "%s (line %d): %s, and importing it failed: %s: %s"
                                                % (source, stmt.lineno, e, type(failed).__name__, failed)})
            continue
        what = getattr(stmt, "name", None) or type(stmt).__name__.lower()
        return json.dumps({"error": "%s (line %d) defines %s; Unicorn runs a uvicorn worker subclass that sets only "
                                    "CONFIG_KWARGS" % (source, stmt.lineno, what)})
    values = [[str(k), v] for k, v in kwargs]
    try:
        return json.dumps({"base": base, "kwargs": values})
    except (TypeError, ValueError):
        return json.dumps({"error": "%s: CONFIG_KWARGS holds a value that is not a string, number, list or bool" % source})
""";
}
