using Python.Runtime;

namespace Unicorn.PythonBridge;

/// <summary>
/// Unicorn's dirty arbiter module (<c>Python/unicorn_dirty.py</c>): the API apps import (DirtyApp, the
/// client, the stash) in every interpreter Unicorn starts, as <c>unicorn_dirty</c> and as
/// <c>gunicorn.dirty</c>; and the source the master hands to the python3 that runs the dirty arbiter.
/// </summary>
public static class DirtyModule
{
    public const string Name = "unicorn_dirty";

    private const string FileName = "unicorn_dirty.py";

    private static string? s_source;

    /// <summary>The module's Python source.</summary>
    public static string Source => s_source ??= BridgeModule.ReadResource(FileName);

    /// <summary>Registers the module and its <c>gunicorn.dirty</c> aliases in sys.modules (GIL held).</summary>
    internal static void Install()
    {
        using var builtins = Py.Import("builtins");
        using var types = Py.Import("types");
        using var sys = Py.Import("sys");
        using var module = types.InvokeMethod("ModuleType", new PyString(Name));
        module.SetAttr("__file__", new PyString(FileName));
        using var modules = sys.GetAttr("modules");
        modules.SetItem(Name, module);
        using var dict = module.GetAttr("__dict__");
        using var code = BridgeModule.Compile(builtins, sys, Source, FileName);
        using (builtins.InvokeMethod("exec", code, dict))
        {
        }

        using (module.InvokeMethod("install_gunicorn_alias", module))
        {
        }
    }
}
