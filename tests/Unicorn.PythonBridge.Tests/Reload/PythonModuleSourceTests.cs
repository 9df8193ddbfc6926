using Python.Runtime;
using Unicorn.PythonBridge.Reload;
using Unicorn.PythonBridge.Tests.Support;

namespace Unicorn.PythonBridge.Tests.Reload;

[Collection(PythonCollection.Name)]
public sealed class PythonModuleSourceTests(PythonFixture python) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-modsrc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ListsSourceFilesOfLoadedModulesAndOnlyAgainWhenModulesChange()
    {
        var source = new PythonModuleSource(python.Runtime);
        var files = source.ModuleFilesIfChanged();
        Assert.NotNull(files);
        var os = python.Eval("__import__('os').__file__");
        Assert.Contains(os, files);
        Assert.All(files, f => Assert.False(f.EndsWith(".pyc", StringComparison.Ordinal), f));
        Assert.Null(source.ModuleFilesIfChanged());

        var module = Path.Combine(_dir, "unicorn_modsrc_probe.py");
        File.WriteAllText(module, "x = 1\n");
        python.Runtime.RunWithGil(() =>
        {
            using var sys = Py.Import("sys");
            using var path = sys.GetAttr("path");
            using (path.InvokeMethod("insert", new PyInt(0), new PyString(_dir)))
            {
            }

            Py.Import("unicorn_modsrc_probe").Dispose();
        });
        Assert.Contains(module, source.ModuleFilesIfChanged() ?? []);
    }

    [Fact]
    public void CompileErrorNamesTheFileLineAndError()
    {
        var source = new PythonModuleSource(python.Runtime);
        var good = Path.Combine(_dir, "good.py");
        var bad = Path.Combine(_dir, "bad.py");
        File.WriteAllText(good, "def app(environ, start_response):\n    return []\n");
        File.WriteAllText(bad, "def app(environ, start_response:\n    return []\n");
        Assert.Null(source.CompileError(good));
        var error = source.CompileError(bad);
        Assert.NotNull(error);
        Assert.Contains($"File \"{bad}\", line 1", error, StringComparison.Ordinal);
        Assert.Contains("SyntaxError", error, StringComparison.Ordinal);
        Assert.Null(source.CompileError(Path.Combine(_dir, "missing.py")));
    }
}
