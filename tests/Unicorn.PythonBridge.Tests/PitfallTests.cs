using System.Diagnostics;
using Unicorn.PythonBridge.Tests.Support;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.Tests;

/// <summary>DESIGN.md, "Pitfalls measured here": each of these crashed or hung a probe.</summary>
[Collection(PythonCollection.Name)]
public sealed class PitfallTests(PythonFixture python)
{
    [Fact]
    public void Thread_state_lives_as_long_as_the_app_thread()
    {
        var app = python.Load("bridge_apps:thread_local");
        using var first = new AppThread(app);
        using var second = new AppThread(app);
        string[] Parts(AppThread t) => t.Invoke(AppThread.Request()).BodyText.Split(' ');

        var a1 = Parts(first);
        var a2 = Parts(first);
        var a3 = Parts(first);
        var b1 = Parts(second);
        var a4 = Parts(first);
        var b2 = Parts(second);

        // threading.local persists across requests on one thread...
        Assert.Equal(["1", "2", "3", "4"], new[] { a1[1], a2[1], a3[1], a4[1] });
        Assert.Equal(a1[0], a4[0]);
        // ...and each app thread is its own Python thread.
        Assert.Equal(["1", "2"], new[] { b1[1], b2[1] });
        Assert.NotEqual(a1[0], b1[0]);
    }

    [Fact]
    public void Signal_signal_from_app_code_is_intercepted_with_a_warning()
    {
        var log = python.Log.During(() =>
        {
            using var thread = new AppThread(python.Load("bridge_apps:steal_signal"));
            Assert.Equal("ok", thread.Invoke(AppThread.Request()).BodyText);
        });
        // previous handler returned (the server's, a callable, as Gunicorn's handle_exit), the recorded one returned
        // next, getsignal reports the recorded one; the line says when it runs.
        Assert.Equal("[True, True, True]", python.Eval("__import__('pyfixtures.bridge_apps').bridge_apps.SIGNAL_RESULT"));
        Assert.Contains(log, e => e.Level == LogLevel.Info && e.Message.Contains("it runs when this process gets SIGTERM", StringComparison.Ordinal));
    }

    [Fact]
    public void Signal_signal_for_a_signal_the_server_does_not_own_still_works()
    {
        Assert.Equal("True", python.Eval(
            "(lambda s: (s.signal(s.SIGALRM, s.SIG_IGN), s.getsignal(s.SIGALRM) == s.SIG_IGN, s.signal(s.SIGALRM, s.SIG_DFL))[1])(__import__('signal'))"));
    }

    [Fact]
    public void Multiprocessing_pool_works_from_the_embedded_interpreter()
    {
        using var thread = new AppThread(python.Load("bridge_apps:multiprocessing_pool"));
        Assert.Equal("49 forkserver", thread.Invoke(AppThread.Request()).BodyText);
    }

    [Fact]
    public void Multiprocessing_does_not_default_to_fork()
    {
        using var thread = new AppThread(python.Load("bridge_apps:start_method"));
        Assert.Equal("forkserver", thread.Invoke(AppThread.Request()).BodyText);
    }

    [Fact]
    public async Task Process_exits_promptly_after_shutdown_with_Python_threads_running()
    {
        var (exit, stdout, stderr) = await RunHostAsync([python.RepoRoot],
            env => env["UNICORN_PYTHON"] = python.Installation.Executable ?? python.Installation.LibPython);
        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["served 200 OK", "non-daemon thread finished", "atexit ran", "shut down"], lines);
    }

    [Fact]
    public async Task A_virtualenv_is_the_embedded_interpreters_prefix_like_under_Gunicorn()
    {
        var venv = Directory.CreateTempSubdirectory("unicorn-venv-").FullName;
        try
        {
            var interpreter = python.Installation.Executable ?? "/usr/bin/python3";
            using (var create = Process.Start(interpreter, ["-m", "venv", "--without-pip", venv]))
            {
                await create.WaitForExitAsync();
                Assert.Equal(0, create.ExitCode);
            }

            var (exit, stdout, stderr) = await RunHostAsync(["paths"], env => { env.Remove("UNICORN_PYTHON"); env["VIRTUAL_ENV"] = venv; });
            Assert.True(exit == 0, stderr);
            var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(venv, lines[0]);
            Assert.Equal(Path.Combine(venv, "bin", "python"), lines[1]);
            Assert.Contains(Path.Combine(venv, "lib", $"python{python.Installation.MajorMinor}", "site-packages"), lines);
            Assert.Equal("multiprocessing loaded: False", lines[^1]); // configured lazily, on the app's first import
        }
        finally
        {
            Directory.Delete(venv, recursive: true);
        }
    }

    private async Task<(int Exit, string Stdout, string Stderr)> RunHostAsync(string[] args, Action<IDictionary<string, string?>> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Unicorn.PythonBridge.TestHost.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment.Remove(PythonInstallation.EnvironmentVariable);
        environment(start.Environment);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return (-1, await stdout, "the process hung: " + await stderr);
            }
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Stacks_of_a_stuck_request_can_be_dumped()
    {
        using var thread = new AppThread(python.Load("bridge_apps:stuck"));
        var request = Task.Run(() => thread.Invoke(AppThread.Request()));
        var stacks = "";
        for (var i = 0; i < 200 && !stacks.Contains("in stuck", StringComparison.Ordinal); i++)
        {
            await Task.Delay(25);
            stacks = python.Runtime.DumpThreadStacks();
        }

        python.Eval("__import__('pyfixtures.bridge_apps').bridge_apps.RELEASE_STUCK.set()");
        Assert.Contains("most recent call first", stacks, StringComparison.Ordinal);
        Assert.Contains("bridge_apps.py\", line", stacks, StringComparison.Ordinal);
        Assert.Contains("in stuck", stacks, StringComparison.Ordinal);
        Assert.Equal("released", (await request).BodyText);
    }

    [Fact]
    public void Python_is_initialised_without_its_signal_handlers()
    {
        // With Python's handlers SIGINT would be default_int_handler; without them Python reports None
        // ("not installed from Python": .NET's handler). _signal is the C module under our guard.
        Assert.Equal("None", python.SigintAtStart);
    }

    [Fact]
    public void Working_directory_is_on_sys_path_like_Gunicorn()
    {
        Assert.Equal("True", python.Eval($"{Quote(python.RepoRoot)} in __import__('sys').path"));
        Assert.Equal(python.RepoRoot, python.Eval("__import__('os').getcwd()"));
    }

    private static string Quote(string s) => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
