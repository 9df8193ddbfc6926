using System.Diagnostics;
using System.Text.Json;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.Tests.ConfigFile;

/// <summary>The --paste loader's Python half, run by /usr/bin/python3 against real PasteDeploy and Pyramid.</summary>
public sealed class PasteDeployScriptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-pastepy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(_dir, name), text);

    // Loads the app as the bridge would, calls it once with a minimal environ and returns the body.
    private async Task<string> LoadAndCall(string[] argv)
    {
        var settings = SettingsResolver.Resolve(argv, new Dictionary<string, string?>(), null, _dir);
        var info = new ProcessStartInfo("/usr/bin/python3") { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(PasteDeployScript.Source + """

            import sys, io, logging
            sys.path.insert(0, sys.argv[2])
            app = _unicorn_load_paste(sys.argv[1], sys.argv[2], sys.argv[3])
            environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "", "QUERY_STRING": "",
                       "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                       "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
                       "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False}
            status = []
            body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
            print(status[0], body.decode(), logging.getLevelName(logging.getLogger("pasteapp").getEffectiveLevel()))
            """);
        info.ArgumentList.Add(settings.PasteUri!);
        info.ArgumentList.Add(_dir);
        info.ArgumentList.Add(JsonSerializer.Serialize(settings.PasteGlobalConf));
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, await stderr);
        return (await stdout).Trim();
    }

    [Fact]
    public async Task Call_factory_gets_global_and_local_conf()
    {
        Write("plainapp.py", """
            def factory(global_conf, **local_conf):
                greeting = local_conf["greeting"] + " " + global_conf.get("who", "?")
                def app(environ, start_response):
                    start_response("200 OK", [("Content-Type", "text/plain")])
                    return [greeting.encode()]
                return app
            """);
        Write("plain.ini", "[app:main]\nuse = call:plainapp:factory\ngreeting = hello\n\n[server:main]\nuse = egg:gunicorn#main\nport = 7001\n");
        Assert.Equal("200 OK hello world WARNING", await LoadAndCall(["--paste", "plain.ini", "--paste-global", "who=world"]));
    }

    [Fact]
    public async Task Pyramid_app_from_an_ini_with_a_named_section()
    {
        Write("pyrapp.py", """
            from pyramid.config import Configurator
            from pyramid.response import Response

            def hello(request):
                return Response("pyramid says " + request.registry.settings["word"])

            def main(global_config, **settings):
                with Configurator(settings=settings) as config:
                    config.add_route("home", "/")
                    config.add_view(hello, route_name="home")
                    return config.make_wsgi_app()
            """);
        Write("pyr.ini", """
            [app:web]
            use = call:pyrapp:main
            word = hi

            [server:main]
            use = egg:gunicorn#main
            host = 127.0.0.1
            port = 7002

            [loggers]
            keys = root, pasteapp

            [handlers]
            keys = console

            [formatters]
            keys = plain

            [logger_root]
            level = INFO
            handlers = console

            [logger_pasteapp]
            level = DEBUG
            handlers =
            qualname = pasteapp

            [handler_console]
            class = StreamHandler
            args = (sys.stderr,)
            formatter = plain

            [formatter_plain]
            format = %%(message)s
            """);
        // The [loggers] are the logconfig's to apply (every process does, as it sets up logging), not the loader's.
        Assert.Equal("200 OK pyramid says hi WARNING", await LoadAndCall(["--paste", "pyr.ini#web"]));
    }
}
