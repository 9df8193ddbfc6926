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

    [Fact]
    public void Gunicorns_submodules_are_attributes_of_gunicorn_dirty()
    {
        // `from gunicorn.dirty import errors` and `import gunicorn.dirty.errors as e` read the attribute: both
        // failed with ImportError at the app's import (the worker never booted).
        Assert.Equal("True", python.Eval(
            "all(getattr(__import__('gunicorn.dirty', fromlist=['x']), n).DirtyError is __import__('unicorn_dirty').DirtyError for n in ('errors', 'app', 'client'))"));
        Assert.Equal("True", python.Eval("__import__('gunicorn.dirty', fromlist=['x']).app.DirtyApp is __import__('unicorn_dirty').DirtyApp"));
    }

    [Fact]
    public void Arguments_that_cannot_be_sent_raise_dirty_protocol_error()
    {
        // Gunicorn's client raises DirtyProtocolError (a DirtyError) for a set or a datetime; an app that catches
        // DirtyError got a TypeError through it (a 500).
        const string D = "__import__('unicorn_dirty')";
        foreach (var value in new[] { "{1, 2}", "object()" })
        {
            Assert.Equal("DirtyProtocolError True", python.Eval(
                "(lambda g: (exec(\"try:\\n  " + D + "._encode_request({'args': [" + value + "]})\\nexcept Exception as e:\\n"
                + "  r = type(e).__name__ + ' ' + str(isinstance(e, " + D + ".DirtyError))\", g), g['r'])[1])({})"));
        }
    }

    [Fact]
    public void A_50_mib_bytes_value_fits_a_message_as_in_gunicorn()
    {
        // Gunicorn carries bytes values of up to 64 MiB; here they are base64 (4/3 bigger) and a 50 MiB one
        // exceeded the 64 MiB frame.
        Assert.Equal("True", python.Eval("len(__import__('unicorn_dirty')._dumps({'result': b'x' * (50 * 1024 * 1024)})) > 0"));
    }

    [Fact]
    public void Stash_info_names_the_table_as_gunicorn_does()
    {
        Assert.Equal("('t', 0)", python.Eval(
            "(lambda s: (s.run({'op': 'ensure', 'table': 't'}), (lambda i: (i['table'], i['size']))(s.run({'op': 'info', 'table': 't'})))[1])(__import__('unicorn_dirty')._Stash())"));
    }

    [Fact]
    public void The_async_client_is_one_per_task_not_one_per_thread()
    {
        // Gunicorn keeps it in a ContextVar: each ASGI request has its own connection. One per thread made an
        // ASGI worker's concurrent requests share one connection and run their dirty calls one at a time.
        const string Script = "import asyncio, unicorn_dirty as d\\n"
            + "old = d._socket_path\\nd.set_dirty_socket_path('/nonexistent.sock')\\n"
            + "async def one():\\n  a = await d.get_dirty_client_async()\\n  return a, await d.get_dirty_client_async()\\n"
            + "async def main():\\n  (a, a2), (b, _) = await asyncio.gather(one(), one())\\n  return a is a2 and a is not b\\n"
            + "try:\\n  r = asyncio.run(main())\\nfinally:\\n  d.set_dirty_socket_path(old)";
        Assert.Equal("True", python.Eval("(lambda g: (exec(\"" + Script + "\", g), g['r'])[1])({})"));
    }

    [Fact]
    public void A_second_stop_signal_inside_the_first_handler_does_not_hang_the_dirty_worker()
    {
        // The worker's TERM handler called threading.Event.set(), whose lock a second TERM (the arbiter's, after
        // `kill -TERM -- -PGID` or systemd's stop, which signal the whole group) arriving inside the first handler
        // took again: the worker hung until dirty_graceful_timeout's SIGKILL, without close(). Here the second
        // stop runs at the second line of what the first one calls (inside Event.set's `with`, before the fix).
        const string Script = "import sys, threading, types, unicorn_dirty as d\\n"
            + "wp = d._WorkerProcess(types.SimpleNamespace(log=None), None, None)\\n"
            + "done = []\\n"
            + "def run():\\n"
            + "  seen = []\\n"
            + "  def tracer(frame, event, arg):\\n"
            + "    if event == 'line' and frame.f_code.co_name not in ('_stop', 'run', 'tracer', '<lambda>'):\\n"
            + "      if not seen:\\n"
            + "        seen.append(frame)\\n"
            + "      elif seen[0] is frame and len(seen) == 1:\\n"
            + "        seen.append(1)\\n"
            + "        wp._stop(False)\\n"
            + "    return tracer\\n"
            + "  sys.settrace(tracer)\\n"
            + "  try:\\n    wp._stop(False)\\n  finally:\\n    sys.settrace(None)\\n"
            + "  done.append(1)\\n"
            + "t = threading.Thread(target=run, daemon=True)\\nt.start()\\nt.join(5)\\n"
            + "r = bool(done)";
        Assert.Equal("True", python.Eval("(lambda g: (exec(\"" + Script + "\", g), g['r'])[1])({})"));
    }
}
