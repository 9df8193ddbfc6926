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
    public static void Load(PyObject native) => s_module = LoadEmbedded(Name, "unicorn_bridge.py", native);

    /// <summary>
    /// Executes the embedded <c>Python/<paramref name="file"/></c> into a fresh module named <paramref name="name"/>,
    /// sets its <c>_native</c> (which its source declares as None) when given, and registers it in sys.modules (GIL
    /// held): how the bridge, asgi, greenlet and tornado halves are loaded.
    /// </summary>
    internal static PyObject LoadEmbedded(string name, string file, PyObject? native = null)
    {
        var source = ReadResource(file);
        using var builtins = Py.Import("builtins");
        using var types = Py.Import("types");
        using var sys = Py.Import("sys");
        using var moduleName = new PyString(name);
        using var sourceText = new PyString(source);
        using var fileName = new PyString(file);
        using var mode = new PyString("exec");
        var module = types.InvokeMethod("ModuleType", moduleName);
        using var dict = module.GetAttr("__dict__");
        using var code = builtins.InvokeMethod("compile", sourceText, fileName, mode);
        using (builtins.InvokeMethod("exec", code, dict))
        {
        }

        if (native is not null)
        {
            module.SetAttr("_native", native);
        }

        using var modules = sys.GetAttr("modules");
        modules.SetItem(name, module);
        return module;
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
