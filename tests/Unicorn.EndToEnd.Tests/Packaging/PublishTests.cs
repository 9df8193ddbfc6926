using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Packaging;

/// <summary>
/// The publish step of packaging/docker/Dockerfile, as CI can run it without Docker: the same script
/// (packaging/publish) writes the program's directory, native as the image's or the JIT build a host without clang
/// publishes, whose program then serves an application directory the way the image's last stage does (through a
/// symlink on the PATH, its own copy of the app, UNICORN_PYTHON naming the interpreter), forking its workers from
/// the zygote.
/// </summary>
public sealed class PublishTests
{
    private static string Dockerfile => Path.Combine(RepoRoot, "packaging", "docker", "Dockerfile");

    [Fact]
    public void TheDockerfileBuildsWithThePublishScript()
    {
        var lines = File.ReadAllLines(Dockerfile);
        Assert.Contains("RUN packaging/publish --native /out", lines);
        Assert.Contains("COPY --from=unicorn-build /out /opt/unicorn", lines);
        Assert.Contains("RUN ln -s /opt/unicorn/unicorn /usr/local/bin/unicorn", lines);
    }

    /// <summary>The self-contained JIT build (packaging/publish without --native: build-wheel --jit, a host without clang).</summary>
    [Fact]
    public void ThePublishedJitBuildServesAnApp()
    {
        var root = Directory.CreateTempSubdirectory("unicorn-publish-").FullName;
        try
        {
            var output = Path.Combine(root, "out");
            var binary = WheelFixture.Run(Path.Combine(RepoRoot, "packaging", "publish"), RepoRoot, output).Trim().Split('\n')[^1];
            Assert.Equal(Path.Combine(output, "unicorn"), binary);

            var app = Path.Combine(root, "app");
            Directory.CreateDirectory(app);
            File.Copy(Path.Combine(RepoRoot, "pyfixtures", "hello.py"), Path.Combine(app, "hello.py"));
            var env = new Dictionary<string, string?> { ["UNICORN_PYTHON"] = WheelFixture.SystemPython, ["PYTHONPATH"] = null, ["GUNICORN_CMD_ARGS"] = null };
            var onPath = Path.Combine(root, "bin", "unicorn");
            Directory.CreateDirectory(Path.GetDirectoryName(onPath)!);
            File.CreateSymbolicLink(onPath, binary);
            var port = FreePort();
            using var server = StartProgram(onPath, app, env, "--bind", $"127.0.0.1:{port}", "--workers", "2", "hello:app");
            server.WaitUntilServing(port);
            Assert.Equal((200, "Hello, World!\n"), Get(port, "/"));
            // The log is read on another thread: wait for the line rather than race its reader.
            server.WaitForLog($"Using Python: {WheelFixture.SystemPython}, Python 3.");
            Assert.DoesNotContain("Cannot start the zygote", server.Log, StringComparison.Ordinal);
            Assert.Contains(ChildrenOf(server.Pid), IsZygote);
            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The native program: ./test's (UNICORN_NATIVE_BUILD, ./unicorn's own), else published once for this run.</summary>
    private static readonly Lazy<string> NativeProgram = new(() =>
    {
        var binary = Environment.GetEnvironmentVariable("UNICORN_NATIVE_BUILD") is { Length: > 0 } built
            ? Path.Combine(built, "unicorn")
            : WheelFixture.Run(Path.Combine(RepoRoot, "packaging", "publish"), RepoRoot, "--native",
                Directory.CreateTempSubdirectory("unicorn-native-build-").FullName).Trim().Split('\n')[^1];
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(binary)!, "libunicorn.so")), binary);
        return binary;
    });

    /// <summary>
    /// The native build (packaging/publish --native, what the image ships): the launcher and every forked worker run
    /// Unicorn from libunicorn.so, with no CoreCLR in any process; workers fork from the zygote, TTIN adds one that
    /// serves, HUP replaces them (as many as configured), TERM ends the master with 0.
    /// </summary>
    [Fact]
    public void TheNativeBuildServesAnAppFromForkedWorkers()
    {
        var root = Directory.CreateTempSubdirectory("unicorn-native-").FullName;
        try
        {
            var binary = NativeProgram.Value;
            var app = Path.Combine(root, "app");
            Directory.CreateDirectory(app);
            File.Copy(Path.Combine(RepoRoot, "pyfixtures", "hello.py"), Path.Combine(app, "hello.py"));
            var env = new Dictionary<string, string?> { ["UNICORN_PYTHON"] = WheelFixture.SystemPython, ["PYTHONPATH"] = null, ["GUNICORN_CMD_ARGS"] = null };
            var port = FreePort();
            // A soft limit of open files below the hard one, as many hosts start services with: the program raises it.
            using var server = StartProgram("/bin/sh", app, env, "-c", "ulimit -Sn 1024; exec \"$0\" \"$@\"", binary,
                "--bind", $"127.0.0.1:{port}", "--workers", "2", "--no-control-socket", "hello:app");
            server.WaitUntilServing(port);
            Assert.Equal((200, "Hello, World!\n"), Get(port, "/"));
            var zygote = Assert.Single(ChildrenOf(server.Pid), IsZygote);
            // The zygote loaded the library before forking (its relocated data is then shared by every worker), without
            // starting its runtime: no thread beside Python's own.
            Assert.Contains("/libunicorn.so", File.ReadAllText($"/proc/{zygote}/maps"), StringComparison.Ordinal);
            Assert.Single(Directory.GetDirectories($"/proc/{zygote}/task"));
            server.WaitForWorkers(2);
            foreach (var pid in server.Workers().Append(server.Pid))
            {
                var maps = File.ReadAllText($"/proc/{pid}/maps");
                Assert.Contains("/libunicorn.so", maps, StringComparison.Ordinal);
                Assert.DoesNotContain("libcoreclr", maps, StringComparison.Ordinal);
                // Raised to the hard limit, as CoreCLR raises it (a native program does not by itself).
                var openFiles = File.ReadAllLines($"/proc/{pid}/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
                    .Split(' ', StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(openFiles[4], openFiles[3]);
            }

            server.Signal(SIGTTIN);
            server.WaitForWorkers(3);
            var before = server.Workers();
            // A reload starts the configured number of workers, as Gunicorn's does.
            server.Signal(SIGHUP);
            Assert.True(Poll(() => server.Workers() is { Count: 2 } now && !now.Intersect(before).Any(), 30), server.Log);
            Assert.Equal((200, "Hello, World!\n"), Get(port, "/"));
            Assert.DoesNotContain("Cannot start the zygote", server.Log, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", server.Log, StringComparison.Ordinal);
            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// A native master needs few descriptors of its own (it serves from ulimit -n 16, where CoreCLR refuses to start
    /// below about 90: ResourceExhaustionTests), but cannot hand a worker the ones it needs above the limit. Never
    /// having started a worker, it stops with the reason and 1, rather than retrying every second for good.
    /// </summary>
    [Fact]
    public void TheNativeBuildThatCannotStartItsFirstWorkerStopsWithTheReason()
    {
        var env = new Dictionary<string, string?> { ["UNICORN_PYTHON"] = WheelFixture.SystemPython, ["PYTHONPATH"] = null, ["GUNICORN_CMD_ARGS"] = null };
        using var server = StartProgram("/bin/sh", RepoRoot, env, "-c", "ulimit -n 12; exec \"$0\" \"$@\"", NativeProgram.Value,
            "--bind", $"127.0.0.1:{FreePort()}", "--no-control-socket", "pyfixtures.hello:app");
        Assert.Equal(1, server.WaitForExit(60));
        Assert.Contains("[ERROR] Reason: Cannot start a worker: ", server.Log, StringComparison.Ordinal);
        Assert.Equal(1, server.Count("Cannot start a worker"));
        Assert.DoesNotContain("Exception", server.Log, StringComparison.Ordinal);
    }
}
