using System.Runtime.InteropServices;
using System.Text;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.Logging;

/// <summary>
/// Where log lines go: a file opened for appending, or a standard stream for "-". Lines are written with
/// one write(2) each on an O_APPEND descriptor, because the master and every worker append to the same file:
/// .NET's FileMode.Append seeks once and keeps its own offset, so processes would overwrite each other.
/// <see cref="Reopen"/> is logrotate's contract: the old file was renamed, open the path again.
/// </summary>
public sealed class LogFile : IDisposable
{
    private const int StdoutFd = 1;
    private const int StderrFd = 2;

    private readonly Lock _lock = new();
    private int _fd;
    private bool _capturing;
    private bool _failing; // the last write to the file failed (a full disk): said once on stderr

    private readonly (uint Uid, uint Gid)? _owner;

    private LogFile(string? path, int fd, (uint Uid, uint Gid)? owner = null)
    {
        Path = path;
        _fd = fd;
        _owner = owner;
    }

    /// <summary>The file's path, or null for a standard stream.</summary>
    public string? Path { get; }

    public static LogFile Stderr() => new(null, StderrFd);

    public static LogFile Stdout() => new(null, StdoutFd);

    /// <summary>Opens <paramref name="target"/> ("-" means <paramref name="dash"/>). Throws
    /// <see cref="IOException"/> naming the file when it cannot be opened for writing.</summary>
    /// <param name="owner">The workers' user and group (<c>--user</c>/<c>--group</c>) when they differ from this
    /// process's: the file is given to them each time it is opened, so that a worker can reopen it on USR1 (Gunicorn
    /// chowns it when it opens it; here a file the master creates again after logrotate is theirs too).</param>
    public static LogFile Open(string target, Func<LogFile> dash, (uint Uid, uint Gid)? owner = null) =>
        target == "-" ? dash() : new LogFile(target, OpenAppend(target, owner), owner);

    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            var errno = WriteAll(_fd, bytes);
            if (Path is not null && (errno != 0) != _failing)
            {
                // A full disk must not take the server down, nor lose lines unseen: one line on stderr (the journal,
                // the container's log) when lines start being lost, one when they are written again.
                _failing = errno != 0;
                var notice = _failing
                    ? $"unicorn: cannot write to the log file {Path} ([Errno {errno}] {Marshal.GetPInvokeErrorMessage(errno)}): its lines are lost until it can\n"
                    : $"unicorn: writing to the log file {Path} again\n";
                _ = WriteAll(StderrFd, Encoding.UTF8.GetBytes(notice));
            }
        }
    }

    public void Write(string text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (max <= 1024)
        {
            Span<byte> buffer = stackalloc byte[max];
            Write(buffer[..Encoding.UTF8.GetBytes(text, buffer)]);
            return;
        }

        Write(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Opens the path again (after logrotate renamed it); a no-op for standard streams. If the
    /// path cannot be opened the old descriptor stays in use, so lines are never lost to a failed reopen.</summary>
    public void Reopen()
    {
        if (Path is null)
        {
            return;
        }

        var fresh = OpenAppend(Path, _owner);
        int old;
        lock (_lock)
        {
            old = _fd;
            _fd = fresh;
        }

        _ = Libc.close(old);
        if (_capturing)
        {
            CaptureStandardStreams();
        }
    }

    /// <summary>
    /// <c>--capture-output</c>: points stdout and stderr (fds 1 and 2, which Python's print and tracebacks
    /// write to) at this file, as Gunicorn does. Again after <see cref="Reopen"/>, so a rotated log keeps
    /// the captured output too. A no-op for the standard streams themselves.
    /// </summary>
    public void CaptureStandardStreams()
    {
        if (Path is null)
        {
            return;
        }

        _capturing = true;
        lock (_lock)
        {
            _ = Libc.dup2(_fd, StdoutFd);
            _ = Libc.dup2(_fd, StderrFd);
        }
    }

    public void Dispose()
    {
        if (Path is null)
        {
            return;
        }

        lock (_lock)
        {
            if (_fd >= 0)
            {
                _ = Libc.close(_fd);
                _fd = -1;
            }
        }
    }

    private static int OpenAppend(string path, (uint Uid, uint Gid)? owner)
    {
        var fd = Libc.open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_APPEND | Libc.O_CLOEXEC, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Error: '{path}' isn't writable [{Marshal.GetPInvokeErrorMessage(errno)}]");
        }

        if (owner is { } o && !IsDevice(path))
        {
            _ = Libc.fchown(fd, o.Uid, o.Gid); // Not root, or a file system without owners: the open file still works.
        }

        return fd;
    }

    // /dev/null, /dev/stdout and ttys are shared by the whole system: never given away (Gunicorn's chown would).
    private static bool IsDevice(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var target = File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        return full.StartsWith("/dev/", StringComparison.Ordinal) || full.StartsWith("/proc/", StringComparison.Ordinal)
            || target.StartsWith("/dev/", StringComparison.Ordinal) || target.StartsWith("/proc/", StringComparison.Ordinal);
    }

    /// <summary>Writes every byte; returns 0, or the errno of the write that failed.</summary>
    private static unsafe int WriteAll(int fd, ReadOnlySpan<byte> bytes)
    {
        const int EINTR = 4;
        fixed (byte* start = bytes)
        {
            var p = start;
            var left = (nuint)bytes.Length;
            while (left > 0 && fd >= 0)
            {
                var n = Libc.write(fd, p, left);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR)
                    {
                        continue;
                    }

                    return errno; // A full disk or closed stderr must not take the server down with it.
                }

                p += n;
                left -= (nuint)n;
            }
        }

        return 0;
    }
}
