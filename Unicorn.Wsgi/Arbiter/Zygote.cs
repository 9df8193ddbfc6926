using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// The master's side of the zygote (<c>worker_start = fork</c>): a plain python3 process, started with
/// the listeners inherited, that imports the app once (<c>--preload</c>) and forks workers on request
/// (<c>unicorn_zygote.py</c>). Each worker is forked twice and so reparented to the master, which is a
/// child subreaper while it asks: the master waits for, signals and reaps workers as its own children,
/// exactly as spawned ones, and sees how each died.
/// </summary>
public sealed class Zygote : IDisposable
{
    private static readonly TimeSpan ForkTimeout = TimeSpan.FromSeconds(30);
    private readonly Socket _channel;
    private readonly IErrorLog _log;
    private readonly byte[] _buffer = new byte[4096];
    private readonly List<byte> _pending = [];
    private int _exitStatus = -1;

    private Zygote(int pid, Socket channel, IErrorLog log)
    {
        Pid = pid;
        _channel = channel;
        _log = log;
    }

    public int Pid { get; }

    /// <summary>
    /// Starts a zygote and waits until it is ready (the app imported when <paramref name="preload"/>).
    /// </summary>
    /// <exception cref="AppLoadException">importing the app failed (logged with its traceback).</exception>
    /// <exception cref="ArbiterException">the app cannot be forked safely (it started threads at import).</exception>
    /// <exception cref="ZygoteUnavailableException">python3 could not be started or did not answer.</exception>
    public static Zygote Start(ZygoteLaunch launch, ZygoteApp app, IReadOnlyList<int> listenerFds,
        IReadOnlyDictionary<string, string> environment, TimeSpan readyTimeout, IErrorLog log)
    {
        ArgumentNullException.ThrowIfNull(launch);
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(listenerFds);
        ArgumentNullException.ThrowIfNull(log);
        if (!File.Exists(launch.Script))
        {
            throw new ZygoteUnavailableException($"{launch.Script} is missing");
        }

        int mine, theirs;
        try
        {
            (mine, theirs) = Libc.SocketPair();
        }
        catch (IOException e)
        {
            throw new ZygoteUnavailableException(e.Message);
        }

        // Placed above every inherited listener, so it clobbers none of them.
        var channelFd = Math.Max(listenerFds.Count == 0 ? 2 : listenerFds.Max(), Math.Max(mine, theirs)) + 1;
        var env = new Dictionary<string, string>(environment, StringComparer.Ordinal)
        {
            ["UNICORN_ZYGOTE"] = Config(launch, app, channelFd),
        };
        env.Remove(HandOver.WorkerMode);
        if (app.Preload is not null && launch.DirtySource is { } dirtySource)
        {
            env["UNICORN_DIRTY_SOURCE"] = dirtySource;
        }
        int pid;
        try
        {
            pid = ProcessSpawner.Spawn(new SpawnRequest
            {
                Path = launch.Python,
                Argv = [launch.Python, launch.Script],
                Environment = env,
                Dup2 = [(theirs, channelFd)],
            });
        }
        catch (IOException e)
        {
            _ = Libc.close(mine);
            throw new ZygoteUnavailableException(e.Message);
        }
        finally
        {
            _ = Libc.close(theirs);
        }

        var zygote = new Zygote(pid, new Socket(new SafeSocketHandle(mine, ownsHandle: true)), log);
        try
        {
            using var answer = zygote.Receive(readyTimeout);
            var root = answer.RootElement;
            if (root.TryGetProperty("ready", out _))
            {
                return zygote;
            }

            var message = root.GetProperty("error").GetString() ?? "unknown error";
            var kind = root.TryGetProperty("kind", out var k) ? k.GetString() : null;
            if (kind == "app")
            {
                if (root.TryGetProperty("traceback", out var tb) && tb.GetString() is { } traceback)
                {
                    log.Exception("Exception while loading the application", traceback);
                }

                throw new AppLoadException(message);
            }

            throw kind == "threads" ? new ArbiterException("Error: " + message) : new ZygoteUnavailableException(message);
        }
        catch
        {
            zygote.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Forks one worker with <paramref name="environment"/>; <paramref name="fds"/> (its heartbeat file, then its
    /// reuse_port slot's sockets) are sent along (their numbers in the worker are set there), and
    /// <paramref name="title"/> becomes its command line. Returns the worker's pid, a child of this process.
    /// </summary>
    /// <exception cref="ZygoteUnavailableException">the zygote is gone or failed to fork.</exception>
    public int Fork(IReadOnlyDictionary<string, string> environment, IReadOnlyList<int> fds, string title)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(fds);
        var request = new MemoryStream();
        using (var writer = new Utf8JsonWriter(request))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("env");
            foreach (var (key, value) in environment)
            {
                writer.WriteString(key, value);
            }

            writer.WriteString(HandOver.ForkedWorker, "1");
            writer.WriteEndObject();
            writer.WriteString("title", title);
            writer.WriteEndObject();
        }

        request.WriteByte((byte)'\n');

        // Orphans reparent to the nearest living subreaper: the worker, once its forking parent exits, to us.
        _ = Libc.prctl(Libc.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        try
        {
            Libc.SendWithFds((int)_channel.Handle, request.GetBuffer().AsSpan(0, (int)request.Length), [.. fds]);
            using var answer = Receive(ForkTimeout);
            if (answer.RootElement.TryGetProperty("pid", out var pid))
            {
                return pid.GetInt32();
            }

            throw new ZygoteUnavailableException("the zygote could not fork: " + answer.RootElement.GetProperty("error").GetString());
        }
        catch (IOException e)
        {
            throw new ZygoteUnavailableException(e.Message);
        }
        finally
        {
            _ = Libc.prctl(Libc.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
        }
    }

    /// <summary>True once the zygote process has exited (reaped here); <see cref="Describe"/> says how.</summary>
    public bool HasExited()
    {
        if (_exitStatus >= 0)
        {
            return true;
        }

        if (Libc.waitpid(Pid, out var status, Libc.WNOHANG) == Pid)
        {
            _exitStatus = status;
            return true;
        }

        return false;
    }

    /// <summary>How the zygote ended, for the log line: "exit code 1" or "signal SIGKILL".</summary>
    public string Describe()
    {
        var exit = new WorkerExit(Pid, Math.Max(_exitStatus, 0));
        return exit.Signal is { } sig ? "signal " + Libc.SignalName(sig) : "exit code " + (exit.ExitCode ?? 0).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Closes the channel, the zygote's signal to exit (it ignores the process group's stop signals), then
    /// makes sure it is gone and reaped. One still importing the app reads no end of file: it is killed
    /// after a second, and the log says so.
    /// </summary>
    public void Dispose()
    {
        _channel.Dispose();
        for (var i = 0; i < 100 && !HasExited(); i++)
        {
            Thread.Sleep(10);
        }

        if (!HasExited())
        {
            _log.Warning($"Zygote (pid: {Pid}) did not exit when its channel closed; killing it");
            _ = Libc.kill(Pid, Libc.SIGKILL);
            _ = Libc.waitpid(Pid, out _exitStatus, 0);
        }
    }

    private static string Config(ZygoteLaunch launch, ZygoteApp app, int channelFd)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("fd", channelFd);
            writer.WriteString("hostfxr", launch.HostFxr);
            writer.WriteString("dotnet_root", launch.DotnetRoot);
            writer.WriteString("assembly", launch.Assembly);
            writer.WriteString("native_library", launch.NativeLibrary);
            writer.WriteString("chdir", app.Directory);
            writer.WriteString("launch_dir", app.LaunchDirectory);
            writer.WriteStartArray("pythonpath");
            foreach (var path in app.PythonPath)
            {
                writer.WriteStringValue(path);
            }

            writer.WriteEndArray();
            writer.WriteBoolean("preload", app.Preload is not null);
            writer.WriteString("app", app.Preload);
            writer.WriteString("loglevel", app.ErrorLogLevel);
            writer.WriteString("worker_library", app.WorkerLibrary);
            writer.WriteStartArray("argv");
            foreach (var arg in app.Argv ?? [])
            {
                writer.WriteStringValue(arg);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private JsonDocument Receive(TimeSpan timeout)
    {
        _channel.ReceiveTimeout = timeout <= TimeSpan.Zero ? 0 : (int)Math.Min(timeout.TotalMilliseconds, int.MaxValue);
        while (true)
        {
            var newline = _pending.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var line = _pending.GetRange(0, newline).ToArray();
                _pending.RemoveRange(0, newline + 1);
                try
                {
                    return JsonDocument.Parse(line);
                }
                catch (JsonException e)
                {
                    throw new ZygoteUnavailableException("the zygote sent an unreadable answer: " + e.Message);
                }
            }

            int n;
            try
            {
                n = _channel.Receive(_buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
            {
                throw new ZygoteUnavailableException($"the zygote did not answer within {timeout.TotalSeconds:0} s");
            }
            catch (SocketException e)
            {
                throw new ZygoteUnavailableException(e.Message);
            }

            if (n == 0)
            {
                throw new ZygoteUnavailableException("the zygote exited before it answered");
            }

            _pending.AddRange(_buffer.AsSpan(0, n));
        }
    }
}
