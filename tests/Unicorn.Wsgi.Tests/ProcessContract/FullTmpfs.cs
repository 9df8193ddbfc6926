using System.Diagnostics;

namespace Unicorn.Wsgi.Tests.ProcessContract;

/// <summary>A one-page tmpfs, filled: a file system that can still make a file but not give it a byte.</summary>
internal sealed class FullTmpfs : IDisposable
{
    private FullTmpfs(string path) => Path = path;

    public string Path { get; }

    /// <summary>Why a tmpfs cannot be mounted here (mount needs CAP_SYS_ADMIN), or null when it can.</summary>
    public static string? MissingReason { get; } = Probe();

    public static FullTmpfs Mount()
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-full-").FullName;
        if (!Run("mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", dir))
        {
            Directory.Delete(dir);
            throw new InvalidOperationException("mount -t tmpfs failed: " + MissingReason);
        }

        var filler = new byte[4096];
        try
        {
            File.WriteAllBytes(System.IO.Path.Combine(dir, "filler"), filler);
        }
        catch (IOException)
        {
            // What did not fit is not needed: the point is that nothing more does.
        }

        return new FullTmpfs(dir);
    }

    public void Dispose()
    {
        _ = Run("umount", Path);
        Directory.Delete(Path, recursive: true);
    }

    private static string? Probe()
    {
        try
        {
            using var probe = Mount();
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return "a tmpfs cannot be mounted here (mount needs root with CAP_SYS_ADMIN)";
        }
    }

    private static bool Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        process.WaitForExit();
        return process.ExitCode == 0;
    }
}

/// <summary>A fact that needs <see cref="FullTmpfs"/>: skipped, with the reason, where no tmpfs can be mounted.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class FullTmpfsFactAttribute : FactAttribute
{
    public FullTmpfsFactAttribute()
    {
        Skip = FullTmpfs.MissingReason;
    }
}
