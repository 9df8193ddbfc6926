using Python.Runtime;

namespace Unicorn.PythonBridge.Asgi;

/// <summary>The embedded <c>Python/unicorn_asgi.py</c>, executed once per process as the module <c>_unicorn_asgi</c>.</summary>
internal static class AsgiModule
{
    public const string Name = "_unicorn_asgi";

    private static PyObject? s_module;

    /// <summary>The module, loading it on first use (GIL held).</summary>
    public static PyObject Get() => s_module ??= BridgeModule.LoadEmbedded(Name, "unicorn_asgi.py");
}
