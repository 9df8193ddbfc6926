using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Config;

/// <summary>
/// Fault injection over the hooks after which the master serves on (docs/differences.md): each raises, is
/// logged as one "Exception in NAME hook" line with its Python traceback and no .NET stack trace, the server
/// still answers, and TERM still ends it with status 0. A raising pre_exec starts no new master, as in Gunicorn.
/// </summary>
public sealed class HookFaultInjectionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-hookfaults-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The hook, its parameters, and the signal that makes it run (0: it runs at start).</summary>
    public static TheoryData<string, string, int> Hooks() => new()
    {
        { "when_ready", "server", 0 },
        { "pre_fork", "server, worker", 0 },
        { "nworkers_changed", "server, new_value, old_value", UnicornServer.SIGTTIN },
        { "on_reload", "server", UnicornServer.SIGHUP },
        { "child_exit", "server, worker", UnicornServer.SIGHUP },
        { "worker_exit", "server, worker", UnicornServer.SIGHUP },
        { "pre_exec", "server", UnicornServer.SIGUSR2 },
        { "on_exit", "server", UnicornServer.SIGTERM },
    };

    [Theory]
    [MemberData(nameof(Hooks))]
    public void Raising_hook_is_logged_and_the_master_serves_on(string hook, string parameters, int trigger)
    {
        var conf = Path.Combine(_dir, "gunicorn.conf.py");
        File.WriteAllText(conf, $"def {hook}({parameters}):\n    raise RuntimeError('boom in {hook}')\n");
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["PYTHONMALLOC"] = "debug" },
            "-w", "1", "-b", $"127.0.0.1:{port}", "-c", conf, "pyfixtures.hello:app");
        server.WaitUntilServing(port);
        if (trigger is not 0 and not UnicornServer.SIGTERM)
        {
            server.Signal(trigger);
        }

        if (trigger != UnicornServer.SIGTERM)
        {
            server.WaitForLog($"Exception in {hook} hook");
            if (trigger == UnicornServer.SIGHUP)
            {
                server.WaitForLog("Booting worker with pid:", times: 2);
            }

            server.WaitUntilServing(port);
        }

        if (hook == "pre_exec")
        {
            // Only the worker (and the zygote it was forked from): no new master was started (killed here if one
            // was, so it can't outlive the test).
            var children = UnicornServer.ChildrenOf(server.Pid).Where(c => !UnicornServer.IsZygote(c)).ToList();
            if (children.Count != 1)
            {
                children.ForEach(c => UnicornServer.Signal(c, UnicornServer.SIGKILL));
            }

            Assert.Single(children);
        }

        server.Signal(UnicornServer.SIGTERM);
        var code = server.WaitForExit();

        Assert.Equal(0, code);
        Assert.Contains(server.Lines, l => l.EndsWith($"[ERROR] Exception in {hook} hook", StringComparison.Ordinal));
        Assert.Contains($"RuntimeError: boom in {hook}", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at Unicorn.", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("Fatal Python error", server.Log, StringComparison.Ordinal);
        if (hook == "pre_exec")
        {
            Assert.Contains("Error: the pre_exec hook raised: RuntimeError: boom in pre_exec; the new master is not started", server.Log, StringComparison.Ordinal);
            Assert.Equal(1, server.Count("Starting unicorn"));
        }
    }
}
