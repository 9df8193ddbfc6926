using Python.Runtime;

namespace Unicorn.PythonBridge.Logging;

/// <summary>
/// The embedded <c>Python/unicorn_glogging.py</c>, executed once per process as <c>_unicorn_glogging</c>: Python
/// logging's setup for <see cref="PythonLogging"/>, and Gunicorn's <c>glogging.Logger</c>, which it registers as
/// <c>gunicorn.glogging</c> where Gunicorn is not installed. Loaded before a config file runs, so a config that
/// subclasses <c>glogging.Logger</c> imports.
/// </summary>
internal static class GloggingModule
{
    public const string Name = "_unicorn_glogging";

    private static PyObject? s_module;

    /// <summary>The module, loaded and its alias installed on first use (GIL held).</summary>
    public static PyObject Get()
    {
        if (s_module is null)
        {
            var module = BridgeModule.LoadEmbedded(Name, "unicorn_glogging.py");
            using var install = module.GetAttr("install_gunicorn_alias");
            using var _ = install.Invoke(module);
            s_module = module;
        }

        return s_module;
    }
}
