using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Unicorn.EndToEnd.Tests.Arbiter;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Dirty;

/// <summary>
/// HUP applies changed dirty_* settings: the running dirty arbiter replaces its workers with the new apps and
/// size (its stash kept), a pool no longer configured stops, one newly configured starts, and apps that do
/// not load leave the pool as it was. Dirty hooks also come from a TOML config as dotted paths.
/// </summary>
public sealed partial class DirtyReloadTests : IDisposable
{
    private const string App = "pyfixtures.dirty_app:app";
    private const string Counter = "pyfixtures.dirty_app:Counter";
    private const string Heavy = "pyfixtures.dirty_app:Heavy";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("unicorn-dirty-reload-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string WriteConfig(int dirtyWorkers, params string[] apps)
    {
        var path = Path.Combine(_dir.FullName, "gunicorn.conf.py");
        File.WriteAllText(path,
            "from pyfixtures.dirty_conf import *\n" +
            $"dirty_workers = {dirtyWorkers}\n" +
            $"dirty_apps = [{string.Join(", ", apps.Select(a => $"\"{a}\""))}]\n" +
            "dirty_timeout = 60\n");
        return path;
    }

    private static (int Status, JsonElement Body) Call(int port, string path)
    {
        var (status, body) = Get(port, path, timeoutSeconds: 60);
        return (status, JsonDocument.Parse(body).RootElement.Clone());
    }

    [GeneratedRegex(@"Spawned dirty arbiter \(pid: (\d+)\)")]
    private static partial Regex ArbiterSpawned();

    private static List<int> ArbiterPids(UnicornServer server) =>
        server.Lines.Select(l => ArbiterSpawned().Match(l)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();

    [Fact]
    public void HupAppliesChangedDirtySettingsKeepsTheStashAndStartsOrStopsThePool()
    {
        var port = FreePort();
        var config = WriteConfig(1, Counter);
        using var server = Start("-c", config, "-b", $"127.0.0.1:{port}", "-w", "1", "--no-control-socket", App);
        server.WaitUntilResponding(port, "/square?x=2", seconds: 120);
        Assert.True(Poll(() => ArbiterPids(server).Count > 0, 30), server.Log); // the log reader may trail the response
        var arbiter = ArbiterPids(server).Single();
        Assert.Equal(200, Call(port, "/stash?k=user&v=alice").Status);
        var (status, heavy) = Call(port, "/heavy");
        Assert.Equal(500, status);
        Assert.Equal("DirtyNoWorkersAvailableError", heavy.GetProperty("type").GetString()); // as Gunicorn's arbiter and dirty.md

        // Two workers, and Heavy limited to one of them: the same dirty arbiter takes them, its stash kept.
        WriteConfig(2, Counter, Heavy + ":1");
        server.Signal(SIGHUP);
        server.WaitForLog("Dirty arbiter settings reloaded: dirty_apps, dirty_workers", seconds: 60);
        Assert.True(Poll(() => Call(port, "/heavy").Status == 200, 120), server.Log);
        server.WaitForLog($"with apps: {Counter}, {Heavy}", seconds: 60);
        server.WaitForLog("Spawned dirty worker (pid: ", times: 3, seconds: 60);
        Assert.Equal("alice", Call(port, "/stash-get?k=user").Body.GetProperty("result").GetString());
        Assert.Equal([arbiter], ArbiterPids(server));

        // An app that cannot be imported: logged, and the pool keeps what it had.
        WriteConfig(2, Counter, "pyfixtures.no_such_module:App");
        server.Signal(SIGHUP);
        server.WaitForLog("Error reloading the dirty apps, keeping the current ones: Dirty app not found: pyfixtures.no_such_module:App", seconds: 60);
        Assert.True(Poll(() => Call(port, "/heavy").Status == 200, 60), server.Log);
        Assert.Equal([arbiter], ArbiterPids(server));

        // dirty_workers = 0: the pool stops; new HTTP workers find none.
        WriteConfig(0, Counter);
        server.Signal(SIGHUP);
        server.WaitForLog($"Stopping dirty arbiter (pid: {arbiter}): dirty_apps or dirty_workers is no longer set", seconds: 60);
        server.WaitForLog($"Dirty arbiter (pid:{arbiter}) exited", seconds: 60);
        Assert.True(Poll(() => Call(port, "/square?x=3").Body.TryGetProperty("type", out var t) && t.GetString() == "DirtyError", 120), server.Log);

        // Configured again: a new dirty arbiter starts and new HTTP workers use it.
        WriteConfig(1, Counter);
        server.Signal(SIGHUP);
        Assert.True(Poll(() => ArbiterPids(server).Count == 2, 60), server.Log);
        // (An old HTTP worker may still answer, without a pool, until it has stopped.)
        Assert.True(Poll(() => Call(port, "/square?x=3") is (200, var body) && body.GetProperty("result").GetInt32() == 9, 120), server.Log);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(90));
    }

    [Fact]
    public void DirtyHooksGivenAsDottedPathsInATomlConfigRun()
    {
        var port = FreePort();
        var toml = Path.Combine(_dir.FullName, "unicorn.toml");
        File.WriteAllText(toml, $"""
            bind = ["127.0.0.1:{port}"]
            workers = 1
            dirty_apps = ["{Counter}"]
            dirty_workers = 1
            on_dirty_starting = "pyfixtures.dirty_conf.on_dirty_starting"
            dirty_post_fork = "pyfixtures.dirty_conf.dirty_post_fork"
            dirty_worker_init = "pyfixtures.dirty_conf.dirty_worker_init"
            dirty_worker_exit = "pyfixtures.dirty_conf.dirty_worker_exit"
            """);
        using var server = Start("-c", toml, "--no-control-socket", App);
        server.WaitUntilResponding(port, "/square?x=2", seconds: 120);
        server.WaitForLog("hook: on_dirty_starting", seconds: 60);
        server.WaitForLog("hook: dirty_post_fork", seconds: 60);
        server.WaitForLog($"hook: dirty_worker_init (worker ", seconds: 60);

        var victim = Call(port, "/incr").Body.GetProperty("result").GetProperty("pid").GetInt32();
        Signal(victim, SIGKILL);
        server.WaitForLog($"hook: dirty_worker_exit (worker {victim})", seconds: 60);
    }
}
