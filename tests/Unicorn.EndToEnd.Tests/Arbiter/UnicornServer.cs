using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>
/// The real `unicorn` (the repo's ./unicorn script, by absolute path) as a child process: its log lines,
/// its workers (children in /proc), signals, and plain HTTP/1.0 requests over TCP or a unix socket.
/// </summary>
public sealed partial class UnicornServer : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private UnicornServer(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "unicorn")) && File.Exists(Path.Combine(dir.FullName, "Unicorn.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root (the ./unicorn script) above " + AppContext.BaseDirectory);
    }

    public static UnicornServer Start(params string[] args) => Start(null, args);

    public static UnicornServer Start(IDictionary<string, string>? env, params string[] args) => StartProgram(Path.Combine(RepoRoot, "unicorn"), env, args);

    /// <summary>Starts unicorn through a shell command prefix, e.g. to inherit ignored signals.</summary>
    public static UnicornServer StartInShell(string shellPrefix, params string[] args) =>
        StartProgram("/bin/sh", null, ["-c", shellPrefix + " exec \"$0\" \"$@\"", Path.Combine(RepoRoot, "unicorn"), .. args]);

    /// <summary>The ./unicorn script rebuilds when sources changed; do that once, before any timed wait.</summary>
    private static readonly Lazy<bool> Built = new(() => Build(kind: null));

    /// <summary>Runs <c>./unicorn --version</c>, which builds first when sources changed; UNICORN_BUILD=kind if given.</summary>
    private static bool Build(string? kind)
    {
        var start = new ProcessStartInfo(Path.Combine(RepoRoot, "unicorn"), "--version") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (kind is not null)
        {
            start.Environment["UNICORN_BUILD"] = kind;
        }

        using var build = Process.Start(start)!;
        var output = build.StandardError.ReadToEndAsync();
        _ = build.StandardOutput.ReadToEnd();
        if (!build.WaitForExit(TimeSpan.FromMinutes(10)) || build.ExitCode != 0)
        {
            throw new InvalidOperationException($"UNICORN_BUILD={kind} ./unicorn --version failed: " + output.Result);
        }

        return true;
    }

    /// <summary>Builds now (if sources changed), e.g. before a test loads the machine.</summary>
    public static void EnsureBuilt() => _ = Built.Value;

    /// <summary>Whether ./unicorn runs the native build (packaging/publish --native), as it does where clang is.</summary>
    public static bool NativeBuild
    {
        get
        {
            EnsureBuilt();
            return Environment.GetEnvironmentVariable("UNICORN_BUILD") != "jit"
                && File.Exists(Path.Combine(RepoRoot, ".build", "unicorn", "libunicorn.so"));
        }
    }

    /// <summary>
    /// ./unicorn's environment for its JIT build (.build/unicorn-jit), the fallback where the native build's toolchain
    /// is missing: for tests of what only the .NET runtime's JIT build has (its runtimeconfig, its diagnostics socket,
    /// an assembly loaded on demand). Built once, before any timed wait.
    /// </summary>
    public static Dictionary<string, string> JitBuild(Dictionary<string, string>? env = null)
    {
        EnsureJitBuilt();
        return new Dictionary<string, string>(env ?? []) { ["UNICORN_BUILD"] = "jit" };
    }

    public static string JitBuildDirectory => Path.Combine(RepoRoot, ".build", "unicorn-jit");

    public static void EnsureJitBuilt() => _ = JitBuilt.Value;

    private static readonly Lazy<bool> JitBuilt = new(() => Build("jit"));

    /// <summary>
    /// Starts unicorn from a Python launcher that prepares inherited sockets and then execs it (so the pid,
    /// and the fds, stay): the script gets <c>unicorn</c> and <c>args</c> and must call os.execv.
    /// </summary>
    public static UnicornServer StartViaPython(string script, IDictionary<string, string>? env, params string[] args) =>
        StartProgram("/usr/bin/python3", env, ["-c", script, Path.Combine(RepoRoot, "unicorn"), .. args]);

    private static UnicornServer StartProgram(string program, IDictionary<string, string>? env, IReadOnlyList<string> args)
    {
        _ = Built.Value;
        var environment = new Dictionary<string, string?>
        {
            ["UNICORN_PYTHON"] = "/usr/bin/python3",
            ["GUNICORN_CMD_ARGS"] = null,
            ["WEB_CONCURRENCY"] = null,
        };
        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return StartProgram(program, RepoRoot, environment, [.. args]);
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
        }
    }

    public List<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public string Log => string.Join('\n', Lines);

    public int Count(string fragment) => Lines.Count(l => l.Contains(fragment, StringComparison.Ordinal));

    /// <summary>Waits until at least <paramref name="times"/> log lines contain fragment.</summary>
    public void WaitForLog(string fragment, int times = 1, double seconds = 30)
    {
        if (!Poll(() => Count(fragment) >= times, seconds))
        {
            throw new TimeoutException($"waited {seconds}s for {times}x '{fragment}'; log:\n{Log}");
        }
    }

    public static bool Poll(Func<bool> condition, double seconds)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (condition())
            {
                return true;
            }

            Thread.Sleep(50);
        }

        return condition();
    }

    /// <summary>Waits for the master to exit and returns its status.</summary>
    public int WaitForExit(double seconds = 30)
    {
        if (!_exited.Task.Wait(TimeSpan.FromSeconds(seconds)))
        {
            throw new TimeoutException($"unicorn did not exit within {seconds}s; log:\n{Log}");
        }

        // Not WaitForExit(): it also waits for EOF on stdout/stderr, which a USR2 master (a child that
        // inherits them) keeps open. The last lines are in once stderr closes, normally at once.
        _stderrClosed.Task.Wait(TimeSpan.FromSeconds(2));
        _process.WaitForExit(1000);
        // An abort or a segfault is never what a test expects, and its cause is only in the log.
        if (_process.ExitCode is 128 + 6 or 128 + 11)
        {
            throw new InvalidOperationException($"unicorn died of signal {_process.ExitCode - 128}; log:\n{Log}");
        }

        return _process.ExitCode;
    }

    public bool HasExited => _exited.Task.IsCompleted;

    public void Signal(int sig) => Signal(Pid, sig);

    public static void Signal(int pid, int sig)
    {
        if (kill(pid, sig) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {sig}) failed");
        }
    }

    /// <summary>The master's worker processes (children named "unicorn: worker").</summary>
    public List<int> Workers() => WorkersOf(Pid);

    public static List<int> WorkersOf(int master) =>
        [.. ChildrenOf(master).Where(pid => TryRead($"/proc/{pid}/comm")?.Trim() == "unicorn: worker")];

    /// <summary>Whether the process is a master's zygote (the python3 running unicorn_zygote.py).</summary>
    public static bool IsZygote(int pid) => (TryRead($"/proc/{pid}/cmdline") ?? "").Contains("unicorn_zygote", StringComparison.Ordinal);

    /// <summary>A process's environment as the kernel shows it (/proc/PID/environ).</summary>
    public static Dictionary<string, string> EnvironmentOf(int pid) =>
        (TryRead($"/proc/{pid}/environ") ?? "")
            .Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(entry => entry.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .GroupBy(pair => pair[0])
            .ToDictionary(g => g.Key, g => g.Last()[1]);

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Waits until a request on port gets a 200 (the app is loaded in some worker).</summary>
    public void WaitUntilServing(int port, double seconds = 60)
    {
        if (!Poll(() => TryGet(port, "/") == 200, seconds))
        {
            throw new TimeoutException($"no 200 on port {port} after {seconds}s; log:\n{Log}");
        }
    }

    /// <summary>Waits until <paramref name="path"/> gets any HTTP response (for apps that answer errors).</summary>
    public void WaitUntilResponding(int port, string path, double seconds = 60)
    {
        if (!Poll(() => TryGet(port, path) is not null, seconds))
        {
            throw new TimeoutException($"no response on port {port} after {seconds}s; log:\n{Log}");
        }
    }

    public static int? TryGet(int port, string path)
    {
        try
        {
            return Get(port, path, 5).Status;
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return null;
        }
    }

    /// <summary>Pids whose parent is pid, from /proc.</summary>
    public static List<int> ChildrenOf(int pid)
    {
        var children = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var child))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] != "Z" && int.Parse(fields[1], CultureInfo.InvariantCulture) == pid)
                {
                    children.Add(child);
                }
            }
            catch (IOException)
            {
            }
        }

        return children;
    }

    public void WaitForWorkers(int count, double seconds = 30)
    {
        if (!Poll(() => Workers().Count == count, seconds))
        {
            throw new TimeoutException($"expected {count} workers, have {Workers().Count}; log:\n{Log}");
        }
    }

    private static int _lastPort = Random.Shared.Next(0, 12_000);

    /// <summary>
    /// A port nothing listens on, below the kernel's ephemeral range (32768+): a port 0 bind returns an ephemeral
    /// one, which a parallel test's outgoing connection could take before the server binds it ("Connection in use").
    /// Each port is handed out once per run.
    /// </summary>
    public static int FreePort()
    {
        for (var i = 0; i < 12_000; i++)
        {
            var port = 20_000 + (Interlocked.Increment(ref _lastPort) % 12_000);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // In use: the next one.
            }
        }

        throw new InvalidOperationException("no free loopback port between 20000 and 32000");
    }

    /// <summary>One HTTP/1.0 GET on a new connection; returns (status, body) or throws on failure.</summary>
    public static (int Status, string Body) Get(EndPoint endPoint, string path, double timeoutSeconds = 10)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        using var socket = endPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.ReceiveTimeout = socket.SendTimeout = (int)(timeoutSeconds * 1000);
        socket.Connect(endPoint);
        socket.Send(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n"));
        var response = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            response.Write(buffer, 0, n);
        }

        var text = Encoding.Latin1.GetString(response.ToArray());
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (!text.StartsWith("HTTP/1.", StringComparison.Ordinal) || headEnd < 0)
        {
            throw new IOException($"no HTTP response: '{text}'");
        }

        return (int.Parse(text.AsSpan(9, 3), CultureInfo.InvariantCulture), text[(headEnd + 4)..]);
    }

    public static (int Status, string Body) Get(int port, string path, double timeoutSeconds = 10) =>
        Get(new IPEndPoint(IPAddress.Loopback, port), path, timeoutSeconds);

    public void Dispose()
    {
        if (!HasExited)
        {
            var workers = Workers();
            _ = kill(Pid, 9);
            foreach (var worker in workers)
            {
                _ = kill(worker, 9);
            }

            _exited.Task.Wait(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }

    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGQUIT = 3;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGUSR2 = 12;
    public const int SIGTERM = 15;
    public const int SIGTTIN = 21;
    public const int SIGTTOU = 22;
    public const int SIGWINCH = 28;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
