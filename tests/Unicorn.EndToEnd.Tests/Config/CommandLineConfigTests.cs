using System.Globalization;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Config;

/// <summary>The real binary's command line and config sources, as a user meets them.</summary>
public sealed class CommandLineConfigTests : IDisposable
{
    private const string App = "pyfixtures.hello:app";
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-e2e-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, List<string> Lines) Run(IDictionary<string, string>? env, params string[] args)
    {
        using var server = UnicornServer.Start(env, args);
        var code = server.WaitForExit(120);
        // Output is read asynchronously; give the last lines a moment after exit.
        Thread.Sleep(200);
        return (code, server.Lines);
    }

    private static (int Code, List<string> Lines) Run(params string[] args) => Run(null, args);

    [Fact]
    public void A_relative_unix_bind_in_a_directory_deeper_than_sun_path_is_bound_by_its_name()
    {
        // Gunicorn binds the name as given; its full path here is longer than sockaddr_un's 108 bytes.
        var deep = _dir;
        while (deep.Length < 130)
        {
            deep = Path.Combine(deep, "deeper-directory");
        }

        Directory.CreateDirectory(deep);
        using var server = UnicornServer.Start("--chdir", deep, "-b", "unix:app.sock", App);
        server.WaitForLog("Listening at: unix:app.sock");
        server.WaitForLog("Booting worker");
        var info = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3")
        {
            WorkingDirectory = deep,
            RedirectStandardOutput = true,
            ArgumentList =
            {
                "-c",
                "import socket, time\nfor _ in range(100):\n    s = socket.socket(socket.AF_UNIX)\n    try:\n        s.connect('app.sock'); break\n" +
                "    except OSError:\n        time.sleep(0.2)\ns.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\nprint(s.recv(100).split(b'\\r\\n')[0].decode())",
            },
        };
        using var client = System.Diagnostics.Process.Start(info)!;
        var status = client.StandardOutput.ReadToEnd().Trim();
        client.WaitForExit();
        Assert.Equal("HTTP/1.0 200 OK", status);
        server.Signal(15);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.False(File.Exists(Path.Combine(deep, "app.sock")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_app_sees_the_masters_command_line_in_sys_argv(bool preload)
    {
        // As Gunicorn's workers see its master's (an app that reads its options at import, preloaded or not).
        File.WriteAllText(Path.Combine(_dir, "argv_app.py"), """
            import json
            import os
            import sys

            AT_IMPORT = [os.path.basename(sys.argv[0])] + sys.argv[1:]

            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "application/json")])
                return [json.dumps(AT_IMPORT).encode()]
            """);
        var port = UnicornServer.FreePort();
        var bind = $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        string[] args = ["--chdir", _dir, "-b", bind, .. preload ? new[] { "--preload" } : [], "argv_app:app"];
        using var server = UnicornServer.Start(args);
        server.WaitUntilServing(port);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize<string[]>(["unicorn", .. args]).Replace(",", ", ", StringComparison.Ordinal),
            UnicornServer.Get(port, "/").Body);
        server.Signal(15);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Theory]
    [InlineData("spawn")]
    [InlineData("fork")]
    public void Settings_longer_than_exec_takes_in_one_variable_reach_the_workers(string workerStart)
    {
        // 14,000 proxies in forwarded_allow_ips (a cloud's address ranges, say): 150 KiB of settings, over the 128 KiB
        // exec takes in one environment string, where a spawned worker's settings were (it never started).
        var config = Path.Combine(_dir, "proxies.conf.py");
        var proxies = string.Join(",", Enumerable.Range(0, 14000).Select(i => $"10.{i / 250}.{i % 250}.1"));
        File.WriteAllText(config, $"forwarded_allow_ips = \"{proxies}\"\n");
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("-c", config, "--worker-start", workerStart, "-w", "1", "-b", $"127.0.0.1:{port}",
            "pyfixtures.bridge_apps:environ_dump");
        server.WaitUntilServing(port);

        // Not from a listed proxy: X-Forwarded-Proto is not believed (the default list, which has 127.0.0.1, would).
        using var client = new System.Net.Sockets.TcpClient("127.0.0.1", port);
        using var stream = client.GetStream();
        stream.Write("GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n"u8);
        var response = new StreamReader(stream).ReadToEnd();
        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        Assert.Contains("\"wsgi.url_scheme\": \"http\"", response, StringComparison.Ordinal);
        Assert.DoesNotContain("[ERROR]", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_and_version()
    {
        var (code, lines) = Run("-h");
        Assert.Equal(0, code);
        Assert.Equal("usage: unicorn [OPTIONS] [APP_MODULE]", lines[0]);
        Assert.Contains(lines, l => l.Contains("--limit-request-field_size INT", StringComparison.Ordinal));

        (code, lines) = Run("--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^unicorn \(version [0-9.]+", Assert.Single(lines, l => l.Length > 0));
    }

    [Theory]
    [InlineData(2, "unicorn: error: unrecognized arguments: --bogus", "--bogus", App)]
    [InlineData(2, "unicorn: error: argument -w/--workers: invalid int value: 'abc'", "-w", "abc", App)]
    [InlineData(2, "unicorn: error: argument -m/--umask: invalid auto_int value: '9z'", "--umask", "9z", App)]
    [InlineData(1, "unicorn: invalid value for bind (-b/--bind): '::::': '::::' is not a valid address (write IPv6 addresses as [ADDRESS]:PORT)", "--bind", "::::", App)]
    [InlineData(1, "unicorn: worker class 'gaiohttp' (-k/--worker-class) is not supported; use --worker-class gthread with --threads N, or gevent, instead", "-k", "gaiohttp", App)]
    [InlineData(1, "unicorn: worker class 'aiohttp.GunicornWebWorker' (-k/--worker-class) is not supported: it serves an aiohttp.web.Application, " +
        "which is neither a WSGI nor an ASGI app; run it with aiohttp's own server (aiohttp.web.run_app), or port it to an ASGI framework " +
        "for --worker-class asgi", "-k", "aiohttp.GunicornWebWorker", App)]
    [InlineData(1, "unicorn: invalid value for http_protocols (--http-protocols): 'h3': h3 (HTTP/3) is not implemented; use h1 and/or h2", "--http-protocols", "h3", App)]
    public void Bad_input_is_one_line_and_the_right_exit_code(int exitCode, string message, params string[] args)
    {
        var (code, lines) = Run(args);
        Assert.Equal(exitCode, code);
        Assert.Equal(message, lines.Last(l => l.Length > 0));
        Assert.DoesNotContain(lines, l => l.Contains("   at ", StringComparison.Ordinal));
    }

    [Fact]
    public void Broken_config_file_names_file_and_line_and_nothing_starts()
    {
        var path = Path.Combine(_dir, "broken.conf.py");
        File.WriteAllText(path, "workers = 2\nimport no_such_module_here\n");
        var (code, lines) = Run("-c", path, App);
        Assert.Equal(1, code);
        Assert.Equal($"unicorn: failed to read config file {path}, line 2: ModuleNotFoundError: No module named 'no_such_module_here'",
            lines.Last(l => l.Length > 0));
        Assert.DoesNotContain(lines, l => l.Contains("Booting worker", StringComparison.Ordinal));
    }

    [Fact]
    public void Print_config_shows_every_setting_with_precedence_applied()
    {
        var path = Path.Combine(_dir, "p.conf.py");
        File.WriteAllText(path, "workers = 5\ntimeout = 50\nbackend_only = 1\n");
        var (code, lines) = Run(new Dictionary<string, string> { ["GUNICORN_CMD_ARGS"] = "--timeout 60 --keep-alive 7" },
            "-c", path, "--print-config", "--keep-alive", "8", App);
        Assert.Equal(0, code);
        var values = lines.Where(l => l.Contains(" = ", StringComparison.Ordinal))
            .Select(l => l.Split(" = ", 2)).ToDictionary(p => p[0].Trim(), p => p[1]);
        Assert.Equal("5", values["workers"]);
        Assert.Equal("60", values["timeout"]);
        Assert.Equal("8", values["keepalive"]);
        Assert.Equal(App, values["default_proc_name"]);
        Assert.True(values.Count > 100, $"only {values.Count} settings printed");
    }

    [Fact]
    public void Check_config_loads_the_app()
    {
        Assert.Equal(0, Run("--check-config", App).Code);
        Assert.Equal(1, Run("--check-config", "pyfixtures.no_such_app:app").Code);
    }

    [Fact]
    public void Print_config_loads_the_app_as_check_config_does()
    {
        // Gunicorn: "--print-config ... Implies --check-config"; a broken app is exit 1 after the listing.
        var (code, lines) = Run("--print-config", "pyfixtures.no_such_app:app");
        Assert.Equal(1, code);
        Assert.Contains(lines, l => l.StartsWith("workers ", StringComparison.Ordinal));
        Assert.Equal(0, Run("--print-config", App).Code);
    }

    [Fact]
    public void Check_config_refuses_a_hook_path_that_cannot_be_imported_naming_the_hook()
    {
        var conf = Path.Combine(_dir, "hookpath.conf.py");
        File.WriteAllText(conf, "when_ready = 'os.no_such_function'\n");
        var (code, lines) = Run("--check-config", "-c", conf, App);
        Assert.Equal(1, code);
        Assert.Contains(lines, l => l.Contains("when_ready = 'os.no_such_function': AttributeError", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_config_refuses_a_certfile_that_does_not_exist()
    {
        var missing = Path.Combine(_dir, "missing.pem");
        var (code, lines) = Run("--check-config", "--certfile", missing, "--keyfile", missing, App);
        Assert.Equal(1, code);
        Assert.Contains(lines, l => l.Contains($"certfile \"{missing}\" does not exist", StringComparison.Ordinal));
    }

    /// <summary>
    /// The master starts Python to read the config file before --chdir is known; the app must still be
    /// imported from --chdir (Gunicorn's check-config and preload do).
    /// </summary>
    [Fact]
    public void Check_config_and_preload_import_the_app_from_chdir_with_a_config_file()
    {
        var appDir = Directory.CreateDirectory(Path.Combine(_dir, "site")).FullName;
        File.WriteAllText(Path.Combine(appDir, "chdir_only_app.py"),
            "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'from chdir']\n");
        var conf = Path.Combine(_dir, "chdir.conf.py");
        File.WriteAllText(conf, "workers = 1\n");

        var (code, lines) = Run("--check-config", "-c", conf, "--chdir", appDir, "chdir_only_app:app");
        Assert.True(code == 0, string.Join('\n', lines));

        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("--preload", "-c", conf, "--chdir", appDir,
            "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "chdir_only_app:app");
        server.WaitUntilServing(port);
        Assert.Equal((200, "from chdir"), UnicornServer.Get(port, "/"));
        server.Signal(UnicornServer.SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void Config_file_bind_is_served_and_GUNICORN_CMD_ARGS_overrides_it()
    {
        var fromFile = UnicornServer.FreePort();
        var fromEnv = UnicornServer.FreePort();
        var path = Path.Combine(_dir, "serve.conf.py");
        File.WriteAllText(path, $"bind = ['127.0.0.1:{fromFile}']\nworkers = 1\n");
        var env = new Dictionary<string, string> { ["GUNICORN_CMD_ARGS"] = $"--bind 127.0.0.1:{fromEnv.ToString(CultureInfo.InvariantCulture)}" };
        using var server = UnicornServer.Start(env, "-c", path, App);
        server.WaitUntilServing(fromEnv);
        Assert.Null(UnicornServer.TryGet(fromFile, "/"));
        server.Signal(15);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void Spew_traces_the_application_lines()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("--spew", "-w", "1", "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", App);
        server.WaitUntilServing(port);
        Assert.True(UnicornServer.Poll(() => server.Lines.Any(l => l.StartsWith("pyfixtures.hello:5:     body = b\"Hello, World!\\n\"", StringComparison.Ordinal)), 20),
            server.Log);
        server.Signal(15);
        server.WaitForExit(60);
    }
}
