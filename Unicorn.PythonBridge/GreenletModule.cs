using Python.Runtime;

namespace Unicorn.PythonBridge;

/// <summary>
/// The greenlet workers' Python half (<c>Python/unicorn_greenlet.py</c>), loaded as <c>_unicorn_greenlet</c>
/// in workers of a greenlet class, with its <c>_native</c> functions from <see cref="GreenletCallbacks"/>.
/// </summary>
internal static class GreenletModule
{
    public const string Name = "_unicorn_greenlet";

    private static PyObject? s_module;

    /// <summary>The module, loaded on first use (GIL held; the bridge module is loaded already).</summary>
    public static PyObject Module => s_module ??= Load();

    private static PyObject Load()
    {
        var source = BridgeModule.ReadResource("unicorn_greenlet.py");
        using var builtins = Py.Import("builtins");
        using var types = Py.Import("types");
        using var sys = Py.Import("sys");
        var module = types.InvokeMethod("ModuleType", new PyString(Name));
        using var dict = module.GetAttr("__dict__");
        using var code = builtins.InvokeMethod("compile", new PyString(source), new PyString("unicorn_greenlet.py"), new PyString("exec"));
        using (builtins.InvokeMethod("exec", code, dict))
        {
        }

        using var native = GreenletCallbacks.CreateNamespace();
        module.SetAttr("_native", native);
        using var modules = sys.GetAttr("modules");
        modules.SetItem(Name, module);
        return module;
    }
}
