using Python.Runtime;

namespace Unicorn.PythonBridge;

/// <summary>
/// Imports the WSGI app named by APP_MODULE with Gunicorn's rules: <c>module</c> (variable
/// <c>application</c>), <c>module:name</c>, <c>module:a.b</c>, <c>module:factory()</c> and
/// <c>module:factory("x", n=2)</c> with literal arguments only.
/// </summary>
public static class AppLoader
{
    /// <summary>Imports and returns the app object; takes the GIL itself. With <paramref name="serveSyntaxErrors"/>
    /// (--reload), a module with a syntax error gives an app that answers its traceback (<see cref="WsgiAppOptions.ServeSyntaxErrors"/>).</summary>
    /// <exception cref="AppImportException">the module, attribute or factory failed; message and traceback inside.</exception>
    public static PyObject Load(PythonRuntime runtime, string appUri, bool serveSyntaxErrors = false)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentException.ThrowIfNullOrWhiteSpace(appUri);
        return runtime.RunWithGil(() =>
        {
            using var load = BridgeModule.Get(serveSyntaxErrors ? "load_app_or_fail_app" : "load_app");
            using var spec = new PyString(appUri);
            try
            {
                return load.Invoke(spec);
            }
            catch (PythonException e)
            {
                throw Translate(e, runtime.Installation);
            }
        });
    }

    private static AppImportException Translate(PythonException e, PythonInstallation python)
    {
        using var appImportError = BridgeModule.Get("AppImportError");
        var value = e.Value;
        if (value is null)
        {
            return new AppImportException(e.Message, null);
        }

        using var type = value.GetPythonType();
        if (Native.Handles.Of(type) == Native.Handles.Of(appImportError))
        {
            return new AppImportException(value.ToString() ?? e.Message, null);
        }

        using var formatOnly = BridgeModule.Get("format_exception_only");
        using var format = BridgeModule.Get("format_exception");
        using var message = formatOnly.Invoke(value);
        using var traceback = format.Invoke(value, e.Traceback ?? PyObject.None);
        var text = message.ToString() ?? e.Message;
        using var builtins = Py.Import("builtins");
        using var importError = builtins.GetAttr("ImportError");
        if (value.IsInstance(importError))
        {
            // "No module named 'django'" usually means another interpreter than the user expected ran.
            text = $"{text.TrimEnd()} (interpreter: {python.Describe()})";
        }

        return new AppImportException(text, traceback.ToString());
    }
}
