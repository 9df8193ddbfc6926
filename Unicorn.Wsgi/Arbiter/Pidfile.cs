using System.Globalization;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// The <c>-p/--pid</c> file, as Gunicorn manages it: refuses to start over a live pid, is written
/// atomically, and is removed at exit only while it still names this process (after USR2 the new master
/// may already own the name).
/// </summary>
public sealed class Pidfile(string path)
{
    public string Path { get; private set; } = System.IO.Path.GetFullPath(path);

    private int _pid;

    /// <summary>Writes pid; throws <see cref="PidfileException"/> with the one-line reason.</summary>
    public void Create(int pid)
    {
        var existing = ReadPid(Path);
        if (existing is { } other && other != pid && IsAlive(other))
        {
            throw new PidfileException($"Already running on PID {other} (or pid file '{Path}' is stale)");
        }

        _pid = pid;
        var dir = System.IO.Path.GetDirectoryName(Path) ?? ".";
        var temp = System.IO.Path.Combine(dir, "." + System.IO.Path.GetFileName(Path) + "." + pid.ToString(CultureInfo.InvariantCulture) + ".tmp");
        try
        {
            File.WriteAllText(temp, pid.ToString(CultureInfo.InvariantCulture) + "\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }

            File.Move(temp, Path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            var reason = e switch
            {
                DirectoryNotFoundException => "No such file or directory",
                UnauthorizedAccessException => "Permission denied",
                _ => e.Message,
            };
            throw new PidfileException($"Can't write pidfile '{Path}': {reason}");
        }
    }

    /// <summary>Moves the file to a new name (a promoted USR2 master takes the configured name).</summary>
    public void Rename(string newPath)
    {
        Unlink();
        Path = System.IO.Path.GetFullPath(newPath);
        Create(_pid);
    }

    /// <summary>Removes the file if it still holds this process's pid.</summary>
    public void Unlink()
    {
        if (_pid != 0 && ReadPid(Path) == _pid)
        {
            TryDelete(Path);
        }
    }

    public static int? ReadPid(string path)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsAlive(int pid) => Libc.kill(pid, 0) == 0 || Libc.Errno == Libc.EPERM;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}

public sealed class PidfileException(string message) : Exception(message);
