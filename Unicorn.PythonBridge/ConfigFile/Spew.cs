using Python.Runtime;

namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// Installs the <c>--spew</c> tracer. Python traces per thread, so call <see cref="InstallOnCurrentThread"/> on every
/// thread that runs Python (the master's, each app thread) when the <c>spew</c> setting is true; threads the app
/// starts with <c>threading</c> inherit it.
/// </summary>
public static class Spew
{
    /// <summary>Takes the GIL (re-entrantly, if this thread holds it) and sets the trace function for this thread.</summary>
    public static void InstallOnCurrentThread()
    {
        if (!PythonEngine.IsInitialized)
        {
            throw new InvalidOperationException("the Python interpreter must be initialised before --spew is installed");
        }

        using (Py.GIL())
        {
            using var scope = Py.CreateScope("unicorn_spew");
            scope.Exec(SpewScript.Source);
            using var install = scope.Get(SpewScript.FunctionName);
            using var _ = install.Invoke();
        }
    }
}
