using Python.Runtime;

namespace Unicorn.PythonBridge;

/// <summary>
/// The embedded Python half of the bridge (<c>Python/unicorn_bridge.py</c>), loaded once per process as
/// the module <c>_unicorn_bridge</c>, with its <c>_native</c> functions implemented in C#.
/// </summary>
internal static class BridgeModule
{
    public const string Name = "_unicorn_bridge";

    private static PyObject? s_module;

    /// <summary>The module object; call with the GIL held after <see cref="Load"/>.</summary>
    public static PyObject Module => s_module ?? throw new InvalidOperationException("the bridge module is not loaded");

    public static PyObject Get(string attribute) => Module.GetAttr(attribute);

    /// <summary>Executes the embedded source into a fresh module registered in sys.modules (GIL held).</summary>
    public static void Load(PyObject native)
    {
        var source = ReadResource("unicorn_bridge.py");
        using var builtins = Py.Import("builtins");
        using var types = Py.Import("types");
        using var sys = Py.Import("sys");
        using var name = new PyString(Name);
        var module = types.InvokeMethod("ModuleType", name);
        using var dict = module.GetAttr("__dict__");
        using var code = builtins.InvokeMethod("compile", new PyString(source), new PyString("unicorn_bridge.py"), new PyString("exec"));
        using (builtins.InvokeMethod("exec", code, dict))
        {
        }

        module.SetAttr("_native", native);
        using var modules = sys.GetAttr("modules");
        modules.SetItem(Name, module);
        s_module = module;
    }

    internal static string ReadResource(string file)
    {
        var assembly = typeof(BridgeModule).Assembly;
        using var stream = assembly.GetManifestResourceStream("Unicorn.PythonBridge.Python." + file)
            ?? throw new InvalidOperationException($"embedded resource {file} is missing from {assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
