using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>Gunicorn 26.1: HUP reloads the log configuration, the master's included.</summary>
public sealed class HupLogConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-hup-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void HupMovesTheMastersLogToTheNewFileAndLevel()
    {
        var config = Path.Combine(_dir, "gunicorn.conf.py");
        var before = Path.Combine(_dir, "before.log");
        var after = Path.Combine(_dir, "after.log");
        File.WriteAllText(config, $"errorlog = {Py(before)}\nloglevel = 'info'\n");
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("-c", config, "-w", "1", "--no-control-socket", "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        Assert.DoesNotContain("[DEBUG]", File.ReadAllText(before), StringComparison.Ordinal);

        File.WriteAllText(config, $"errorlog = {Py(after)}\nloglevel = 'debug'\n");
        server.Signal(UnicornServer.SIGHUP);

        // The master's own debug lines (the worker count, reaping the replaced worker) now go to the new file.
        var master = $"[{server.Pid}] [DEBUG]";
        Assert.True(UnicornServer.Poll(() => File.Exists(after) && File.ReadAllText(after).Contains(master, StringComparison.Ordinal), 120),
            $"no master debug line in {after}:\n{(File.Exists(after) ? File.ReadAllText(after) : "(missing)")}\n--- before:\n{File.ReadAllText(before)}");
        Assert.Contains("Handling signal: hup", File.ReadAllText(before), StringComparison.Ordinal);
        Assert.DoesNotContain("[DEBUG]", File.ReadAllText(before), StringComparison.Ordinal);

        // A log setting that cannot work keeps the current logs and workers, and says why.
        File.WriteAllText(config, $"errorlog = {Py(after)}\nloglevel = 'loud'\n");
        server.Signal(UnicornServer.SIGHUP);
        Assert.True(UnicornServer.Poll(() => File.ReadAllText(after).Contains("Error reloading the configuration", StringComparison.Ordinal)
            || File.ReadAllText(after).Contains("Error reloading the log configuration", StringComparison.Ordinal), 60), File.ReadAllText(after));
        Assert.Equal(200, UnicornServer.Get(port, "/", 30).Status);
        server.Signal(UnicornServer.SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    private static string Py(string path) => "'" + path.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
