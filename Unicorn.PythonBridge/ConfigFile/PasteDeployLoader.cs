using System.Text.Json;
using Python.Runtime;

namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// Loads the WSGI application of <c>--paste FILE.ini[#name]</c> with <c>paste.deploy.loadapp</c>, as Gunicorn does;
/// the result goes where an imported APP_MODULE would. The interpreter must be running; this takes the GIL itself.
/// </summary>
public static class PasteDeployLoader
{
    /// <summary>The application <paramref name="settings"/> name: the <c>--paste</c> ini's, else APP_MODULE (or <c>wsgi_app</c>).</summary>
    /// <exception cref="AppImportException">the application could not be loaded.</exception>
    public static PythonWsgiApplication LoadApplication(PythonRuntime runtime, Unicorn.Wsgi.Config.Settings settings, WsgiAppOptions options,
        Unicorn.Wsgi.Logging.IErrorLog log, string workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.PasteUri is not { } paste)
        {
            return PythonWsgiApplication.Load(runtime, settings.AppUri ?? throw new AppImportException("No application module specified.", null), options, log);
        }

        using var app = Load(paste, settings.PasteGlobalConf, workingDirectory);
        return new PythonWsgiApplication(runtime, app, options, log);
    }

    /// <param name="pasteUri">The absolute ini path with its optional <c>#name</c> (<c>Settings.PasteUri</c>).</param>
    /// <param name="globalConf">The <c>--paste-global</c> values (<c>Settings.PasteGlobalConf</c>).</param>
    /// <param name="relativeTo">The directory relative names in the ini are taken from (the working directory).</param>
    /// <exception cref="AppImportException">PasteDeploy, the factory or an import raised (the traceback kept for the log).</exception>
    public static PyObject Load(string pasteUri, IReadOnlyDictionary<string, string> globalConf, string relativeTo)
    {
        ArgumentException.ThrowIfNullOrEmpty(pasteUri);
        ArgumentNullException.ThrowIfNull(globalConf);
        if (!PythonEngine.IsInitialized)
        {
            throw new InvalidOperationException("the Python interpreter must be initialised before a paste application is loaded");
        }

        using (Py.GIL())
        {
            using var scope = Py.CreateScope("unicorn_paste_loader");
            scope.Exec(PasteDeployScript.Source);
            using var load = scope.Get(PasteDeployScript.FunctionName);
            using var uriArg = new PyString(pasteUri);
            using var relativeArg = new PyString(relativeTo);
            using var globalArg = new PyString(JsonSerializer.Serialize(globalConf, BridgeJsonContext.Default.IReadOnlyDictionaryStringString));
            try
            {
                return load.Invoke(uriArg, relativeArg, globalArg);
            }
            catch (PythonException e)
            {
                var file = pasteUri.Split('#')[0];
                throw new AppImportException($"cannot load the application from {file}: {e.Type.Name}: {e.Message}", e.Format());
            }
        }
    }
}
