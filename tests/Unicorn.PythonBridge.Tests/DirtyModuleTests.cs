using Unicorn.PythonBridge.Tests.Support;

namespace Unicorn.PythonBridge.Tests;

/// <summary>Every interpreter Unicorn starts has the dirty API as unicorn_dirty and as gunicorn.dirty.</summary>
[Collection(PythonCollection.Name)]
public sealed class DirtyModuleTests(PythonFixture python)
{
    [Fact]
    public void Gunicorn_dirty_imports_are_unicorns_module()
    {
        Assert.Equal("True", python.Eval("__import__('gunicorn.dirty', fromlist=['DirtyApp']).DirtyApp is __import__('unicorn_dirty').DirtyApp"));
        Assert.Equal("True", python.Eval("__import__('gunicorn.dirty.stash', fromlist=['put']).put is __import__('unicorn_dirty').stash.put"));
        Assert.Equal("True", python.Eval("__import__('gunicorn.dirty.errors', fromlist=['x']).DirtyTimeoutError.__mro__[1].__name__ == 'DirtyError'"));
    }

    [Fact]
    public async Task Without_gunicorn_installed_a_stand_in_package_holds_dirty_and_gunicorns_version()
    {
        // python3 -S leaves out dist-packages, where Debian's Gunicorn lives: as an environment with Unicorn alone.
        const string Script = """
            import sys, types
            m = types.ModuleType("unicorn_dirty"); sys.modules["unicorn_dirty"] = m
            exec(compile(sys.stdin.read(), "unicorn_dirty.py", "exec"), m.__dict__)
            m.install_gunicorn_alias(m)
            import gunicorn, gunicorn.dirty
            from gunicorn import __version__
            print(__version__, gunicorn.version_info, gunicorn.dirty is m)
            """;
        var info = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        info.ArgumentList.Add("-S");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Script);
        using var process = System.Diagnostics.Process.Start(info)!;
        process.StandardInput.Write(DirtyModule.Source);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, await errors);
        Assert.Equal("26.1.0 (26, 1, 0) True", (await output).Trim());
    }

    [Fact]
    public void A_dirty_app_dispatches_actions_and_specs_parse_as_gunicorns()
    {
        Assert.Equal("42", python.Eval("type('A', (__import__('unicorn_dirty').DirtyApp,), {'double': lambda self, x: 2 * x})()('double', 21)"));
        Assert.Equal("('m.x:A', 2)", python.Eval("__import__('unicorn_dirty').parse_dirty_app_spec('m.x:A:2')"));
        Assert.Equal("('m.x:A', None)", python.Eval("__import__('unicorn_dirty').parse_dirty_app_spec('m.x:A')"));
    }

    [Fact]
    public void Stash_delete_keys_and_clear_of_a_missing_table_are_gunicorns_empty_answers()
    {
        // Gunicorn 26.1's arbiter answers False, [] and True here; examples/dirty_example's SessionApp.clear_all
        // clears "sessions" before anything was put in it and got a 500 from Unicorn.
        const string Run = "__import__('unicorn_dirty')._Stash().run";
        Assert.Equal("False", python.Eval(Run + "({'op': 'delete', 'table': 'none', 'key': 'k'})"));
        Assert.Equal("[]", python.Eval(Run + "({'op': 'keys', 'table': 'none'})"));
        Assert.Equal("None", python.Eval(Run + "({'op': 'clear', 'table': 'none'})"));
        // info still raises for a missing table, as Gunicorn's does.
        Assert.Equal("StashTableNotFoundError", python.Eval(
            "(lambda g: (exec(\"try:\\n  __import__('unicorn_dirty')._Stash().run({'op': 'info', 'table': 'none'})\\n"
            + "except Exception as e:\\n  r = type(e).__name__\", g), g['r'])[1])({})"));
    }

    [Fact]
    public void Errors_carry_gunicorns_attributes_raised_here_and_after_crossing_the_socket()
    {
        // Gunicorn's dirty.md catches DirtyNoWorkersAvailableError and returns e.app_path, and its stash section
        // prints e.table_name: the attributes its error classes set, also on errors rebuilt by from_dict.
        const string D = "__import__('unicorn_dirty')";
        Assert.Equal("('m:A', 'm:A')", python.Eval(
            $"(lambda e: (e.app_path, {D}.DirtyError.from_dict(e.to_dict()).app_path))({D}.DirtyNoWorkersAvailableError('m:A'))"));
        Assert.Equal("('m:A', 'act', 'TB', True)", python.Eval(
            $"(lambda e: (e.app_path, e.action, e.traceback, type(e) is {D}.DirtyAppError))({D}.DirtyError.from_dict({D}.DirtyAppError('boom', 'm:A', 'act', 'TB').to_dict()))"));
        Assert.Equal("(5, 5)", python.Eval(
            $"(lambda e: (e.timeout, {D}.DirtyError.from_dict(e.to_dict()).timeout))({D}.DirtyTimeoutError('slow', 5))"));
        Assert.Equal("('t', 't', 'k')", python.Eval(
            $"({D}.DirtyError.from_dict({D}.StashTableNotFoundError('t').to_dict()).table_name,) + (lambda e: (e.table_name, e.key))({D}.DirtyError.from_dict({D}.StashKeyNotFoundError('t', 'k').to_dict()))"));
        Assert.Equal("(None, 7)", python.Eval(
            $"(lambda e: (e.traceback, e.worker_id))({D}.DirtyError.from_dict({D}.DirtyWorkerError('gone', 7).to_dict()))"));
    }
}
