using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// The log configurations Gunicorn's documentation shows (root logger with no handlers, <c>gunicorn.error</c>
/// and <c>gunicorn.access</c> with <c>propagate=0</c>, <c>qualname</c>, a <c>FileHandler</c> each, plain
/// formatters) and their variations, as ini, <c>logconfig_dict</c> and <c>--log-config-json</c>: each serves a
/// request and writes master, worker and access lines into its files. Python runs with <c>PYTHONMALLOC=debug</c>,
/// which aborts when an object is allocated without the GIL: Python 3.12+ crashes with SIGSEGV there, 3.11 only
/// corrupts its heap now and then.
/// </summary>
public sealed class GunicornLogConfigShapeTests : IDisposable
{
    private static readonly Dictionary<string, string> DebugMalloc = new() { ["PYTHONMALLOC"] = "debug" };

    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-logshape-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Shapes() => new()
    {
        "ini as documented, absolute paths",
        "ini with relative --log-config and handler paths under --chdir",
        "ini with relative handler paths, --chdir and a config file",
        "ini with args=(file, 'a') and a console handler on root",
        "ini with propagate=1 to a root file handler",
        "logconfig_dict with disable_existing_loggers",
        "logconfig_dict with a \"()\" formatter from --chdir and a config file",
        "--log-config-json with disable_existing_loggers",
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Serves_and_writes_master_worker_and_access_lines_into_the_files(string shape)
    {
        var port = UnicornServer.FreePort();
        var (args, errorFile, accessFile) = Prepare(shape);
        using (var server = UnicornServer.Start(DebugMalloc, ["-w", "1", "-b", $"127.0.0.1:{port}", .. args, "pyfixtures.hello:app"]))
        {
            Assert.True(UnicornServer.Poll(() => server.HasExited || UnicornServer.TryGet(port, "/shape-probe") == 200, 60) && !server.HasExited,
                $"{shape}: server did not answer (exit {(server.HasExited ? server.WaitForExit() : 0)}):\n{server.Log}");
            Assert.True(UnicornServer.Poll(() => Read(accessFile).Contains("\"GET /shape-probe HTTP/1.0\" 200 ", StringComparison.Ordinal), 10),
                $"{shape}: no access line in {accessFile}:\n{Read(accessFile)}\n{server.Log}");
            server.Signal(UnicornServer.SIGTERM);
            Assert.Equal(0, server.WaitForExit());
            Assert.DoesNotContain("   at Unicorn.", server.Log, StringComparison.Ordinal);
            Assert.DoesNotContain("Fatal Python error", server.Log, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception in worker process", server.Log, StringComparison.Ordinal);
        }

        var errors = Read(errorFile);
        Assert.Contains("[INFO] Starting unicorn", errors, StringComparison.Ordinal); // the master's first line
        Assert.Matches(@"\[INFO\] Booting worker with pid: \d+", errors); // a worker's
        Assert.Contains("[INFO] Shutting down: Master", errors, StringComparison.Ordinal);
    }

    private (string[] Args, string ErrorFile, string AccessFile) Prepare(string shape)
    {
        var error = Path.Combine(_dir, "gunicorn.error.log");
        var access = Path.Combine(_dir, "gunicorn.access.log");
        // With --chdir, the app still comes from the repository.
        string[] chdir = ["--chdir", _dir, "--pythonpath", UnicornServer.RepoRoot];
        switch (shape)
        {
            case "ini as documented, absolute paths":
                File.WriteAllText(Path.Combine(_dir, "logging.ini"), Ini($"('{error}',)", $"('{access}',)"));
                return (["--log-config", Path.Combine(_dir, "logging.ini")], error, access);
            case "ini with relative --log-config and handler paths under --chdir":
                // Gunicorn chdirs before it sets up logging: both paths are relative to --chdir, in the worker too.
                File.WriteAllText(Path.Combine(_dir, "logging.ini"), Ini("('gunicorn.error.log',)", "('gunicorn.access.log',)"));
                return ([.. chdir, "--log-config", "logging.ini"], error, access);
            case "ini with relative handler paths, --chdir and a config file":
                // The config file starts Python in the master before --chdir applies; the files must still be
                // those under --chdir, where the workers write.
                File.WriteAllText(Path.Combine(_dir, "logging.ini"), Ini("('gunicorn.error.log',)", "('gunicorn.access.log',)"));
                File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), "timeout = 30\n");
                return (["-c", Path.Combine(_dir, "gunicorn.conf.py"), .. chdir, "--log-config", "logging.ini"], error, access);
            case "ini with args=(file, 'a') and a console handler on root":
                File.WriteAllText(Path.Combine(_dir, "logging.ini"), Ini("('gunicorn.error.log', 'a')", "('gunicorn.access.log', 'a')", rootHandler: "console"));
                return ([.. chdir, "--log-config", "logging.ini"], error, access);
            case "ini with propagate=1 to a root file handler":
                var all = Path.Combine(_dir, "all.log");
                File.WriteAllText(Path.Combine(_dir, "logging.ini"), Ini("('unused.error.log',)", "('unused.access.log',)", rootHandler: "root_file", propagate: true));
                return ([.. chdir, "--log-config", "logging.ini"], all, all);
            case "logconfig_dict with disable_existing_loggers":
                File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), $"logconfig_dict = {Dict(error, access)}\n");
                return (["-c", Path.Combine(_dir, "gunicorn.conf.py")], error, access);
            case "logconfig_dict with a \"()\" formatter from --chdir and a config file":
                // The factory's module sits in --chdir, on sys.path as Gunicorn puts it there before it sets up
                // logging, though the config file started Python in the start directory.
                File.WriteAllText(Path.Combine(_dir, "shape_formatters.py"), "import logging\ndef generic(format, **rest):\n    return logging.Formatter(format)\n");
                var factory = Dict(error, access).Replace("\"generic\": {", "\"generic\": {\"()\": \"shape_formatters.generic\", ", StringComparison.Ordinal);
                File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), $"logconfig_dict = {factory}\n");
                return (["-c", Path.Combine(_dir, "gunicorn.conf.py"), .. chdir], error, access);
            case "--log-config-json with disable_existing_loggers":
                File.WriteAllText(Path.Combine(_dir, "logging.json"), Dict(error, access).Replace("True", "true", StringComparison.Ordinal).Replace("False", "false", StringComparison.Ordinal));
                return ([.. chdir, "--log-config-json", "logging.json"], error, access);
            default:
                throw new ArgumentOutOfRangeException(nameof(shape), shape, null);
        }
    }

    // The file of the report: Gunicorn's documented shape, plus the handler on root that some variations add.
    private static string Ini(string errorArgs, string accessArgs, string rootHandler = "", bool propagate = false) => $"""
        [loggers]
        keys=root, gunicorn.error, gunicorn.access

        [handlers]
        keys=error_file, access_file{(rootHandler.Length > 0 ? ", " + rootHandler : "")}

        [formatters]
        keys=generic, access

        [logger_root]
        level=INFO
        handlers={rootHandler}

        [logger_gunicorn.error]
        level=INFO
        handlers={(propagate ? "" : "error_file")}
        propagate={(propagate ? 1 : 0)}
        qualname=gunicorn.error

        [logger_gunicorn.access]
        level=INFO
        handlers={(propagate ? "" : "access_file")}
        propagate={(propagate ? 1 : 0)}
        qualname=gunicorn.access

        [handler_error_file]
        class=logging.FileHandler
        formatter=generic
        args={errorArgs}

        [handler_access_file]
        class=logging.FileHandler
        formatter=access
        args={accessArgs}

        [handler_console]
        class=StreamHandler
        formatter=generic
        args=(sys.stdout,)

        [handler_root_file]
        class=logging.FileHandler
        formatter=generic
        args=('all.log', 'a')

        [formatter_generic]
        format=%(asctime)s [%(process)d] [%(levelname)s] %(message)s
        datefmt=%Y-%m-%d %H:%M:%S
        class=logging.Formatter

        [formatter_access]
        format=%(message)s
        class=logging.Formatter
        """;

    private static string Dict(string error, string access) => $$"""
        {
            "version": 1,
            "disable_existing_loggers": True,
            "root": {"level": "INFO", "handlers": []},
            "loggers": {
                "gunicorn.error": {"level": "INFO", "handlers": ["error_file"], "propagate": False, "qualname": "gunicorn.error"},
                "gunicorn.access": {"level": "INFO", "handlers": ["access_file"], "propagate": False, "qualname": "gunicorn.access"}
            },
            "handlers": {
                "error_file": {"class": "logging.FileHandler", "formatter": "generic", "filename": "{{error}}"},
                "access_file": {"class": "logging.FileHandler", "formatter": "access", "filename": "{{access}}"}
            },
            "formatters": {
                "generic": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s", "class": "logging.Formatter"},
                "access": {"format": "%(message)s", "class": "logging.Formatter"}
            }
        }
        """;

    private static string Read(string path) => File.Exists(path) ? File.ReadAllText(path) : "";
}
