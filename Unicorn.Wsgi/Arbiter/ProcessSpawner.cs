using System.Runtime.InteropServices;
using System.Text;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>What to start: the program, its argv (argv[0] included), its environment, fds to place.</summary>
public sealed class SpawnRequest
{
    public required string Path { get; init; }

    public required IReadOnlyList<string> Argv { get; init; }

    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    /// <summary>(source fd in this process, fd number in the child). dup2 clears FD_CLOEXEC in the child.</summary>
    public IReadOnlyList<(int From, int To)> Dup2 { get; init; } = [];

    /// <summary>Inheritable fds of this process the child must not get (the listeners, for a process that serves no HTTP).</summary>
    public IReadOnlyList<int> Close { get; init; } = [];

    /// <summary>Start the child in a new session (daemonising by re-exec).</summary>
    public bool NewSession { get; init; }

    /// <summary>The child's working directory; null keeps this process's.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Which of the child's stdin, stdout and stderr (0, 1, 2) to point at /dev/null.</summary>
    public IReadOnlyList<int> NullFds { get; init; } = [];
}

/// <summary>
/// Starts a child with posix_spawn rather than <see cref="System.Diagnostics.Process"/>: .NET's Process
/// reaps its children itself (so waitpid here would lose the exit status, including the signal that
/// killed a worker), and posix_spawn lets us place the heartbeat fd and reset signal state exactly.
/// Inheritable fds (listeners, FD_CLOEXEC cleared) pass through; everything .NET opened stays closed.
/// </summary>
public static unsafe class ProcessSpawner
{
    /// <summary>Signals the child must start with default handling, whatever this process did with them.</summary>
    private static readonly int[] ResetSignals =
    [
        Libc.SIGHUP, Libc.SIGINT, Libc.SIGQUIT, Libc.SIGTERM, Libc.SIGUSR1, Libc.SIGUSR2, Libc.SIGTTIN,
        Libc.SIGTTOU, Libc.SIGWINCH, Libc.SIGCHLD, Libc.SIGPIPE, Libc.SIGABRT,
    ];

    /// <summary>Starts the child and returns its pid; throws <see cref="IOException"/> on failure.</summary>
    public static int Spawn(SpawnRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var strings = new List<nint>();
        var attr = NativeMemory.AllocZeroed(Libc.PosixSpawnAttrSize);
        var actions = NativeMemory.AllocZeroed(Libc.PosixSpawnFileActionsSize);
        var sigset = NativeMemory.AllocZeroed(Libc.SigSetSize);
        var argv = (byte**)NativeMemory.AllocZeroed((nuint)(request.Argv.Count + 1), (nuint)sizeof(nint));
        var envp = (byte**)NativeMemory.AllocZeroed((nuint)(request.Environment.Count + 1), (nuint)sizeof(nint));
        try
        {
            Check(Libc.posix_spawnattr_init(attr), "posix_spawnattr_init");
            Check(Libc.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            var flags = (short)(Libc.POSIX_SPAWN_SETSIGMASK | Libc.POSIX_SPAWN_SETSIGDEF);
            if (request.NewSession)
            {
                flags |= Libc.POSIX_SPAWN_SETSID;
            }

            Check(Libc.posix_spawnattr_setflags(attr, flags), "posix_spawnattr_setflags");
            Libc.sigemptyset(sigset);
            Check(Libc.posix_spawnattr_setsigmask(attr, sigset), "posix_spawnattr_setsigmask");
            foreach (var sig in ResetSignals)
            {
                SigAddSet(sigset, sig);
            }

            Check(Libc.posix_spawnattr_setsigdefault(attr, sigset), "posix_spawnattr_setsigdefault");
            foreach (var (from, to) in request.Dup2)
            {
                Check(Libc.posix_spawn_file_actions_adddup2(actions, from, to), "posix_spawn_file_actions_adddup2");
            }

            foreach (var fd in request.Close)
            {
                Check(Libc.posix_spawn_file_actions_addclose(actions, fd), "posix_spawn_file_actions_addclose");
            }

            if (request.NullFds.Count > 0)
            {
                var devNull = Utf8(strings, "/dev/null");
                foreach (var fd in request.NullFds)
                {
                    Check(Libc.posix_spawn_file_actions_addopen(actions, fd, devNull, fd == 0 ? Libc.O_RDONLY : Libc.O_RDWR, 0), "posix_spawn_file_actions_addopen");
                }
            }

            if (request.WorkingDirectory is { } cwd)
            {
                Check(Libc.posix_spawn_file_actions_addchdir_np(actions, Utf8(strings, cwd)), "posix_spawn_file_actions_addchdir_np");
            }

            for (var i = 0; i < request.Argv.Count; i++)
            {
                argv[i] = Utf8(strings, request.Argv[i]);
            }

            var e = 0;
            foreach (var (key, value) in request.Environment)
            {
                envp[e++] = Utf8(strings, key + "=" + value);
            }

            var path = Utf8(strings, request.Path);
            var rc = Libc.posix_spawn(out var pid, path, actions, attr, argv, envp);
            if (rc != 0)
            {
                throw new IOException($"cannot start {request.Path}: {Libc.StrError(rc)}");
            }

            return pid;
        }
        finally
        {
            Libc.posix_spawn_file_actions_destroy(actions);
            Libc.posix_spawnattr_destroy(attr);
            foreach (var p in strings)
            {
                NativeMemory.Free((void*)p);
            }

            NativeMemory.Free(argv);
            NativeMemory.Free(envp);
            NativeMemory.Free(sigset);
            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
        }
    }

    /// <summary>The current environment as a dictionary, to modify and hand to <see cref="Spawn"/>.</summary>
    public static Dictionary<string, string> CurrentEnvironment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            env[(string)entry.Key] = (string?)entry.Value ?? "";
        }

        return env;
    }

    // sigset_t is a bit array of unsigned longs; signal n is bit n-1.
    private static void SigAddSet(void* set, int sig)
    {
        var words = (ulong*)set;
        words[(sig - 1) / 64] |= 1UL << ((sig - 1) % 64);
    }

    private static byte* Utf8(List<nint> owned, string s)
    {
        var count = Encoding.UTF8.GetByteCount(s);
        var p = (byte*)NativeMemory.Alloc((nuint)count + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, count));
        p[count] = 0;
        owned.Add((nint)p);
        return p;
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0)
        {
            throw new IOException($"{what}: {Libc.StrError(rc)}");
        }
    }
}
