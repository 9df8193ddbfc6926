using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Arbiter.Control;

// Unicorn runs on Linux only: UNIX sockets and file modes exist there.
#pragma warning disable CA1416

/// <summary>
/// The master's control socket (Gunicorn 25.1's, so its <c>gunicornc</c> and our <c>unicornctl</c> both
/// drive it): a UNIX socket served on the thread pool, never on the master's loop, so a slow or hostile
/// client cannot hold up signal handling. Each command runs on the loop through <c>execute</c>. Only a
/// peer the socket's mode admits may talk (its credentials are read with SO_PEERCRED); a bad or oversized
/// request gets an error reply, never an exception in the master.
/// </summary>
public sealed class ControlServer : IDisposable
{
    private const int SolSocket = 1;
    private const int SoPeercred = 17;
    private const int SoPeergroups = 59;
    private const int MaxClients = 16;
    private const int MaxConnections = 128; // the served ones and those waiting for a turn
    private const int MaxSocketPath = 107; // sun_path: 108 bytes with the NUL
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan MessageTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly Socket _listener;
    private readonly string _path;
    private readonly int _mode;
    private readonly DateTime _created;
    private readonly IErrorLog _log;
    private readonly Func<IReadOnlyList<string>, Task<JsonObject>> _execute;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _turns = new(MaxClients);
    private int _clients;

    private ControlServer(Socket listener, string path, int mode, IErrorLog log, Func<IReadOnlyList<string>, Task<JsonObject>> execute)
    {
        _listener = listener;
        _path = path;
        _mode = mode;
        _created = File.GetLastWriteTimeUtc(path);
        _log = log;
        _execute = execute;
    }

    public string Path => _path;

    /// <summary>
    /// Binds <paramref name="path"/> (creating its directory, mode 0700, and replacing a stale socket, as
    /// Gunicorn does) and starts serving. Throws <see cref="IOException"/> or <see cref="SocketException"/>
    /// when it cannot; the master then runs without it.
    /// </summary>
    public static ControlServer Start(string path, int mode, IErrorLog log, Func<IReadOnlyList<string>, Task<JsonObject>> execute)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(execute);
        var directory = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        if (Libc.GetFileMode(path) is { } existing)
        {
            if (!Libc.IsSocketMode(existing))
            {
                throw new IOException($"{path} exists and is not a socket");
            }

            File.Delete(path);
        }

        // Bound beside the path and renamed onto it: .NET deletes the file a socket was bound to when the socket is
        // disposed, which at exit would remove the path another master has taken since (Dispose keeps it). A path
        // too long for the suffix is bound as it is.
        var bindPath = $"{path}.{Environment.ProcessId}";
        if (System.Text.Encoding.UTF8.GetByteCount(bindPath) > MaxSocketPath)
        {
            bindPath = path;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(bindPath));
            File.SetUnixFileMode(bindPath, (UnixFileMode)(mode & 0x1FF));
            socket.Listen(MaxConnections);
            if (bindPath != path)
            {
                File.Move(bindPath, path, overwrite: true);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var server = new ControlServer(socket, path, mode, log, execute);
        _ = server.AcceptLoopAsync();
        return server;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                _log.Warning("Control socket accept failed: " + e.Message);
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }

            _ = ServeClientAsync(client);
        }
    }

    private async Task ServeClientAsync(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var turn = false;
        try
        {
            // A client beyond the 16 served at once waits for a turn, as a burst of scripts would each get one from
            // Gunicorn (which has no limit); only one that waits too long, or past 128, is turned away.
            if (Interlocked.Increment(ref _clients) <= MaxConnections)
            {
                turn = await _turns.WaitAsync(MessageTimeout, _stop.Token).ConfigureAwait(false);
            }

            // A refused peer still gets its first request read, so the refusal reaches it as that request's reply.
            var refusal = turn ? RefusedPeer(client) : "too many control connections; try again";
            if (refusal is not null && turn)
            {
                _log.Warning("Control socket: " + refusal);
            }

            while (!_stop.IsCancellationRequested)
            {
                int? length;
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
                {
                    idle.CancelAfter(refusal is null ? IdleTimeout : MessageTimeout);
                    length = await ControlProtocol.ReadLengthAsync(stream, idle.Token).ConfigureAwait(false);
                }

                if (length is not { } size)
                {
                    return;
                }

                JsonObject reply;
                try
                {
                    using var within = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    within.CancelAfter(MessageTimeout);
                    var request = await ControlProtocol.ReadPayloadAsync(stream, size, within.Token).ConfigureAwait(false);
                    if (refusal is not null)
                    {
                        await ReplyAsync(stream, ControlProtocol.Error(request["id"], refusal)).ConfigureAwait(false);
                        return;
                    }

                    reply = await DispatchAsync(request).ConfigureAwait(false);
                }
                catch (ControlProtocolException e) when (!e.Fatal)
                {
                    reply = ControlProtocol.Error(null, refusal ?? e.Message);
                    if (refusal is not null)
                    {
                        await ReplyAsync(stream, reply).ConfigureAwait(false);
                        return;
                    }
                }

                await ReplyAsync(stream, reply).ConfigureAwait(false);
            }
        }
        catch (ControlProtocolException e)
        {
            // The framing is lost: say why, then close.
            await TryReplyAsync(stream, ControlProtocol.Error(null, e.Message)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or idled out.
        }
        finally
        {
            if (turn)
            {
                _turns.Release();
            }

            Interlocked.Decrement(ref _clients);
        }
    }

    private async Task<JsonObject> DispatchAsync(JsonObject request)
    {
        var id = request["id"];
        List<string> words;
        try
        {
            words = Words(request);
        }
        catch (Exception e) when (e is ControlCommandException or ConfigException or InvalidOperationException or FormatException)
        {
            return ControlProtocol.Error(id, e is ConfigException ? "Invalid argument: " + e.Message.Replace("Error: ", "", StringComparison.Ordinal) : e.Message);
        }

        if (words.Count == 0)
        {
            return ControlProtocol.Error(id, "Empty command");
        }

        try
        {
            // No stop token here: a command the loop ran (shutdown itself) still gets its reply; the master
            // fails the calls it will not run when it stops serving.
            var data = await _execute(words).WaitAsync(CommandTimeout).ConfigureAwait(false);
            return ControlProtocol.Ok(id, data);
        }
        catch (ControlCommandException e)
        {
            return ControlProtocol.Error(id, e.Message);
        }
        catch (TimeoutException)
        {
            return ControlProtocol.Error(id, "Command failed: the master did not answer in time");
        }
        catch (OperationCanceledException)
        {
            return ControlProtocol.Error(id, "Command failed: the master is stopping");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Exception("Control command failed: " + string.Join(' ', words), e.ToString());
            return ControlProtocol.Error(id, "Command failed: " + e.Message);
        }
    }

    /// <summary>The command string split as a shell would, then the args array appended (Gunicorn's rule).</summary>
    private static List<string> Words(JsonObject request)
    {
        var command = request["command"] switch
        {
            null => "",
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => throw new ControlCommandException("\"command\" must be a string"),
        };
        var words = ShellWords.Split(command.Trim());
        if (request["args"] is JsonArray args)
        {
            foreach (var arg in args)
            {
                words.Add(arg is JsonValue value && value.TryGetValue<string>(out var s) ? s : arg?.ToJsonString() ?? "None");
            }
        }
        else if (request["args"] is not null)
        {
            throw new ControlCommandException("\"args\" must be a list");
        }

        return words;
    }

    /// <summary>
    /// Null when the peer may talk: root, this process's user, its group when the mode grants the group
    /// write, anyone when it grants others write. Otherwise the refusal to log and reply.
    /// </summary>
    private string? RefusedPeer(Socket client)
    {
        Span<byte> cred = stackalloc byte[12]; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        int pid;
        uint uid, gid;
        try
        {
            client.GetRawSocketOption(SolSocket, SoPeercred, cred);
            pid = MemoryMarshal.Read<int>(cred);
            uid = MemoryMarshal.Read<uint>(cred[4..]);
            gid = MemoryMarshal.Read<uint>(cred[8..]);
        }
        catch (SocketException e)
        {
            return "cannot read the peer's credentials: " + e.Message;
        }

        var allowed = uid == 0 || uid == Libc.geteuid()
            || ((_mode & 0x10) != 0 && InGroup(client, gid, Libc.getegid()))
            || (_mode & 0x2) != 0;
        var who = (_mode & 0x10) != 0 ? "owner and group" : "owner";
        return allowed ? null : $"refused a connection from pid {pid} (uid {uid}): only the socket's {who} may use it (control_socket_mode {Convert.ToString(_mode, 8)})";
    }

    /// <summary>
    /// Whether the peer's primary group or one of its supplementary groups (SO_PEERGROUPS) is
    /// <paramref name="group"/>: an admin is usually in the socket's group by `usermod -aG`, and the kernel
    /// let them connect by that group.
    /// </summary>
    private static bool InGroup(Socket client, uint primary, uint group)
    {
        if (primary == group)
        {
            return true;
        }

        var groups = new byte[65536 * sizeof(uint)]; // NGROUPS_MAX
        int length;
        try
        {
            length = client.GetRawSocketOption(SolSocket, SoPeergroups, groups);
        }
        catch (SocketException)
        {
            return false;
        }

        for (var offset = 0; offset + sizeof(uint) <= length; offset += sizeof(uint))
        {
            if (MemoryMarshal.Read<uint>(groups.AsSpan(offset)) == group)
            {
                return true;
            }
        }

        return false;
    }

    private static async Task ReplyAsync(Stream stream, JsonObject reply) =>
        await stream.WriteAsync(ControlProtocol.Encode(reply)).ConfigureAwait(false);

    private static async Task TryReplyAsync(Stream stream, JsonObject reply)
    {
        try
        {
            await ReplyAsync(stream, reply).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // Nobody left to tell.
        }
    }

    /// <summary>Stops serving and removes the socket file, unless another server has since replaced it.</summary>
    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _listener.Dispose();
        try
        {
            if (Libc.GetFileMode(_path) is { } mode && Libc.IsSocketMode(mode) && File.GetLastWriteTimeUtc(_path) == _created)
            {
                File.Delete(_path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Debug($"Could not remove the control socket {_path}: {e.Message}");
        }
    }
}
