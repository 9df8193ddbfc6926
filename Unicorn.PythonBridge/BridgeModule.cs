using Python.Runtime;

namespace Unicorn.PythonBridge;

/// <summary>
/// The embedded Python half of the bridge (<c>Python/unicorn_bridge.py</c>), loaded once per process as
/// the module <c>_unicorn_bridge</c>, with its <c>_native</c> functions implemented in C#.
/// </summary>
internal static class BridgeModule
{
    public const string Name = "_unicorn_bridge";

    /// <summary>Where a forked worker finds the zygote's code objects (<c>PRECOMPILED</c> in <c>unicorn_zygote.py</c>).</summary>
    private const string PrecompiledModule = "_unicorn_precompiled";

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
        var module = types.InvokeMethod("ModuleType", moduleName);
        using var dict = module.GetAttr("__dict__");
        using var code = Compile(builtins, sys, source, file);
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

    /// <summary>
    /// The code object of an embedded module's <paramref name="source"/>: the one the zygote compiled before forking
    /// this worker (<c>unicorn_zygote.py</c>, <c>precompile</c>) when it was made from a source of the same length,
    /// else compiled here (GIL held).
    /// </summary>
    internal static PyObject Compile(PyObject builtins, PyObject sys, string source, string file)
    {
        using var sourceText = new PyString(source);
        using var fileName = new PyString(file);
        using var modules = sys.GetAttr("modules");
        using var key = new PyString(PrecompiledModule);
        using var precompiled = modules.InvokeMethod("get", key);
        if (!precompiled.IsNone())
        {
            using var table = precompiled.GetAttr("code");
            using var entry = table.InvokeMethod("get", fileName);
            if (!entry.IsNone())
            {
                using var length = entry[0];
                if (length.As<long>() == sourceText.Length())
                {
                    return entry[1];
                }
            }
        }

        using var mode = new PyString("exec");
        return builtins.InvokeMethod("compile", sourceText, fileName, mode);
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
