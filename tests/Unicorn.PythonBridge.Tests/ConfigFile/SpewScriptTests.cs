using System.Diagnostics;
using Unicorn.PythonBridge.ConfigFile;

namespace Unicorn.PythonBridge.Tests.ConfigFile;

public sealed class SpewScriptTests
{
    [Fact]
    public async Task Every_line_is_printed_with_the_values_it_mentions()
    {
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(SpewScript.Source + """

            import tempfile, os, importlib.util
            path = os.path.join(tempfile.mkdtemp(), "spewed.py")
            with open(path, "w") as f:
                f.write("def work(n):\n    total = n * 2\n    return total\n")
            spec = importlib.util.spec_from_file_location("spewed", path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            _unicorn_spew_install()
            mod.work(21)
            sys.settrace(None)
            """);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, await stderr);
        var lines = (await stdout).Split('\n');
        Assert.Contains("spewed:2:     total = n * 2", lines);
        Assert.Contains("\tn=21", lines);
        Assert.Contains("spewed:3:     return total", lines);
        Assert.Contains("\ttotal=42", lines);
    }
}
