using Python.Runtime;

namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// In a worker, the config file's bytes as the master ran them (<c>Settings.ConfigFileSource</c>): every later run of
/// the file in this process (its hooks, a <c>logconfig_dict</c> class defined there) runs these, as a forked Gunicorn
/// worker has what its master loaded, whatever the file holds by now.
/// </summary>
public static class ConfigFileSnapshot
{
    public static void Install(PythonRuntime runtime, string path, string base64Source)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        runtime.RunWithGil(() =>
        {
            using var scope = Py.CreateScope("unicorn_config_snapshot");
            scope.Exec("""
                import base64, os, sys


                def _unicorn_install(path, source):
                    sys._unicorn_config_source = (os.path.abspath(path), base64.b64decode(source))
                """);
            using var install = scope.Get("_unicorn_install");
            using var pathArg = new PyString(path);
            using var sourceArg = new PyString(base64Source);
            using var _ = install.Invoke(pathArg, sourceArg);
        });
    }
}
