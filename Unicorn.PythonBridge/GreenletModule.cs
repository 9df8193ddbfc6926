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
        using var native = GreenletCallbacks.CreateNamespace();
        return BridgeModule.LoadEmbedded(Name, "unicorn_greenlet.py", native);
    }
}
