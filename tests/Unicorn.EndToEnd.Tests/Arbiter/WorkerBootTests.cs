using System.Diagnostics;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>
/// Booting is not serving: starting .NET and CPython and importing the app has its own allowance
/// (boot_timeout), and `timeout` counts only once a worker is ready.
/// </summary>
public class WorkerBootTests
{
    private const string App = "pyfixtures.arbiter_app:app";

    [Fact]
    public void WorkersBootUnderACpuHogWithASmallTimeoutAndServe()
    {
        // A few busy processes on the machine's cores (each ended by `timeout` even if this test dies),
        // and unicorn at a lower priority than theirs, which with few hogs gives the overload of many:
        // a worker then takes well over 5 s to boot. Charged to --timeout 5, every worker was killed
        // 5 s after its spawn, over and over, and nothing was served.
        EnsureBuilt();
        var hogs = new List<Process>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                hogs.Add(Process.Start(new ProcessStartInfo("/usr/bin/timeout", ["120", "/bin/sh", "-c", "while :; do :; done"]))!);
            }

            var port = FreePort();
            using var server = StartInShell("renice -n 6 $$ >/dev/null;", "-w", "2", "-k", "sync", "--timeout", "5", "-b", $"127.0.0.1:{port}", App);
            server.WaitUntilServing(port, 150);
            server.WaitForLog("Booting worker with pid:", 2, 150);
            // Beyond the timeout after both started: a ready worker keeps beating, a booting one is not charged.
            Thread.Sleep(8000);
            Assert.Equal(200, Get(port, "/", 30).Status);
            Assert.DoesNotContain("WORKER TIMEOUT", server.Log, StringComparison.Ordinal);
            Assert.Equal(2, server.Count("Booting worker with pid:"));
            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit(60));
        }
        finally
        {
            foreach (var hog in hogs)
            {
                // TERM to `timeout` is passed on to its shell.
                _ = TrySignal(hog.Id, SIGTERM);
                hog.WaitForExit(5000);
                hog.Dispose();
            }
        }
    }

    [Fact]
    public void AWorkerWhoseImportHangsIsKilledAfterTheBootAllowanceWithItsStackLogged()
    {
        var port = FreePort();
        using var server = Start("-w", "1", "-t", "2", "--boot-timeout", "30", "--graceful-timeout", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.hanging_import:app");
        server.WaitForLog("hanging_import: importing", 1, 60);
        var booting = Stopwatch.StartNew();
        server.WaitForLog("while booting: not ready", 1, 60);

        // Not at --timeout (2 s), but after the boot allowance, with one line saying why.
        Assert.True(booting.Elapsed > TimeSpan.FromSeconds(2), server.Log);
        var line = server.Lines.Single(l => l.Contains("WORKER TIMEOUT (pid:", StringComparison.Ordinal));
        Assert.Contains("[CRITICAL]", line, StringComparison.Ordinal);
        Assert.Contains("(boot_timeout 30 s)", line, StringComparison.Ordinal);
        // The worker answers the master's ABRT even mid-import: the stuck import's Python stack.
        server.WaitForLog("hanging_import.py\", line", 1, 10);
        // Gone, and replaced.
        server.WaitForLog("Booting worker with pid:", 2, 60);
        server.Signal(SIGTERM);
        server.WaitForExit(60);
    }

    private static bool TrySignal(int pid, int sig)
    {
        try
        {
            Signal(pid, sig);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
