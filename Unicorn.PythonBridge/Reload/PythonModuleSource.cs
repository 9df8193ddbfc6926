using Python.Runtime;
using Unicorn.Wsgi.Workers.Reload;

namespace Unicorn.PythonBridge.Reload;

/// <summary>
/// What <c>--reload</c> needs from Python: the files of <c>sys.modules</c> (as Gunicorn's reloader reads them)
/// and whether a changed file compiles. Each call holds the GIL for one short Python function; the list
/// crosses as one string and is rebuilt only when modules were imported or removed.
/// </summary>
public sealed class PythonModuleSource : IModuleSource
{
    private const string Source = """
import os
import sys
import traceback

_last_seen = None


def module_files():
    global _last_seen
    modules = sys.modules
    # sys.modules keeps insertion order: its size and newest name change whenever modules come or go.
    seen = (len(modules), next(reversed(modules), None))
    if seen == _last_seen:
        return None
    _last_seen = seen
    files = set()
    for module in list(modules.values()):
        try:
            name = module.__dict__.get("__file__")
        except Exception:
            continue
        if isinstance(name, str) and name:
            if name.endswith((".pyc", ".pyo")):
                name = name[:-1]
            files.add(os.path.abspath(name))
    # A module whose syntax error the app answers instead (--reload): saving the fix replaces the worker.
    files.update(getattr(sys, "_unicorn_failed_files", ()))
    return "\0".join(sorted(files))


def compile_error(path):
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError:
        return None
    try:
        compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        return "".join(traceback.format_exception_only(type(e), e))
    return None
""";

    private readonly PythonRuntime _runtime;
    private PyObject? _moduleFiles;
    private PyObject? _compileError;

    public PythonModuleSource(PythonRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _runtime = runtime;
    }

    public IReadOnlyList<string>? ModuleFilesIfChanged() => _runtime.RunWithGil(() =>
    {
        EnsureLoaded();
        using var result = _moduleFiles!.Invoke();
        return result.IsNone() ? null : (IReadOnlyList<string>)result.As<string>().Split('\0', StringSplitOptions.RemoveEmptyEntries);
    });

    public string? CompileError(string path) => _runtime.RunWithGil(() =>
    {
        EnsureLoaded();
        using var arg = new PyString(path);
        using var result = _compileError!.Invoke(arg);
        return result.IsNone() ? null : result.As<string>();
    });

    private void EnsureLoaded()
    {
        if (_moduleFiles is not null)
        {
            return;
        }

        using var module = PyModule.FromString("_unicorn_reload", Source);
        _moduleFiles = module.GetAttr("module_files");
        _compileError = module.GetAttr("compile_error");
    }
}
