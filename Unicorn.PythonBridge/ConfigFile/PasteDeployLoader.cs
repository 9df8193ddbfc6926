using System.Text.Json;
using Python.Runtime;

namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// Loads the WSGI application of <c>--paste FILE.ini[#name]</c> with <c>paste.deploy.loadapp</c>, as Gunicorn does;
/// the result goes where an imported APP_MODULE would. The interpreter must be running; this takes the GIL itself.
/// </summary>
public static class PasteDeployLoader
{
    /// <param name="pasteUri">The absolute ini path with its optional <c>#name</c> (<c>Settings.PasteUri</c>).</param>
    /// <param name="globalConf">The <c>--paste-global</c> values (<c>Settings.PasteGlobalConf</c>).</param>
    /// <param name="relativeTo">The directory relative names in the ini are taken from (the working directory).</param>
    /// <exception cref="PasteLoadException">PasteDeploy, the factory or an import raised.</exception>
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
            using var globalArg = new PyString(JsonSerializer.Serialize(globalConf));
            try
            {
                return load.Invoke(uriArg, relativeArg, globalArg);
            }
            catch (PythonException e)
            {
                var file = pasteUri.Split('#')[0];
                throw new PasteLoadException($"unicorn: cannot load the application from {file}: {e.Type.Name}: {e.Message}", e.Format());
            }
        }
    }
}
