using Python.Runtime;

namespace Unicorn.PythonBridge.Asgi;

/// <summary>The embedded <c>Python/unicorn_asgi.py</c>, executed once per process as the module <c>_unicorn_asgi</c>.</summary>
internal static class AsgiModule
{
    public const string Name = "_unicorn_asgi";

    private static PyObject? s_module;

    /// <summary>The module, loading it on first use (GIL held).</summary>
    public static PyObject Get()
    {
        if (s_module is not null)
        {
            return s_module;
        }

        var assembly = typeof(AsgiModule).Assembly;
        string source;
        using (var stream = assembly.GetManifestResourceStream("Unicorn.PythonBridge.Python.unicorn_asgi.py")
            ?? throw new InvalidOperationException("embedded resource unicorn_asgi.py is missing"))
        using (var reader = new StreamReader(stream))
        {
            source = reader.ReadToEnd();
        }

        using var builtins = Py.Import("builtins");
        using var types = Py.Import("types");
        using var sys = Py.Import("sys");
        var module = types.InvokeMethod("ModuleType", new PyString(Name));
        using var dict = module.GetAttr("__dict__");
        using var code = builtins.InvokeMethod("compile", new PyString(source), new PyString("unicorn_asgi.py"), new PyString("exec"));
        using (builtins.InvokeMethod("exec", code, dict))
        {
        }

        using var modules = sys.GetAttr("modules");
        modules.SetItem(Name, module);
        s_module = module;
        return module;
    }
}
