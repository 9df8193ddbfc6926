using Python.Runtime;
using Unicorn.PythonBridge.Native;

namespace Unicorn.PythonBridge;

/// <summary>
/// -k tornado: the imported app adapted by <c>Python/unicorn_tornado.py</c> into the callable the asgi host's loop runs
/// (a tornado.web.Application served directly, any other app through tornado's WSGIContainer, as in Gunicorn's worker).
/// </summary>
public static class PythonTornado
{
    public const string ModuleName = "_unicorn_tornado";

    private static PyObject? s_module;

    /// <summary>The app as tornado serves it, wrapped like an imported app (the asgi host's form takes it from there).</summary>
    /// <exception cref="InvalidOperationException">tornado is missing (Gunicorn's message) or the app could not be adapted.</exception>
    public static PythonWsgiApplication Adapt(PythonWsgiApplication app, WsgiAppOptions options)
    {
        ArgumentNullException.ThrowIfNull(app);
        PyObject adapted;
        try
        {
            adapted = app.Runtime.RunWithGil(() =>
            {
                var module = s_module ??= Load();
                using var original = Handles.Wrap(app.App);
                return module.InvokeMethod("adapt", original);
            });
        }
        catch (PythonException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }

        using (adapted)
        {
            return new PythonWsgiApplication(app.Runtime, adapted, options, app.Log);
        }
    }

    private static PyObject Load() => BridgeModule.LoadEmbedded(ModuleName, "unicorn_tornado.py");
}
