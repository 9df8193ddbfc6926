using System.Runtime.InteropServices;
using Unicorn.PythonBridge;
using Unicorn.Wsgi.Arbiter;

namespace Unicorn.Cli;

/// <summary>
/// Finds what a zygote needs (worker_start = fork): the located python3, the zygote script shipped beside
/// this program, and the hostfxr of the runtime this master runs on, so a forked worker starts the same .NET.
/// </summary>
internal static class ZygoteLocator
{
    public const string ScriptName = "unicorn_zygote.py";

    /// <summary>The launch, or null and the reason (for the one line saying workers are spawned instead).</summary>
    public static (ZygoteLaunch? Launch, string? Reason) Locate(PythonInstallation python)
    {
        if (python.Executable is not { } executable)
        {
            return (null, "no Python executable is known, only " + python.LibPython);
        }

        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
        {
            // A native (ahead-of-time) build: a forked worker loads the same code as a shared library.
            var library = Path.Combine(AppContext.BaseDirectory, "libunicorn.so");
            return File.Exists(library)
                ? (new ZygoteLaunch { Python = executable, Script = Path.Combine(AppContext.BaseDirectory, ScriptName), NativeLibrary = library, DirtySource = DirtyModule.Source }, null)
                : (null, library + " is missing");
        }

        var assembly = Path.Combine(AppContext.BaseDirectory, "unicorn.dll");
        if (!File.Exists(assembly))
        {
            return (null, assembly + " is missing");
        }

        var (hostFxr, root) = FindHostFxr();
        if (hostFxr is null || root is null)
        {
            return (null, "cannot find libhostfxr.so of this .NET runtime");
        }

        return (new ZygoteLaunch
        {
            Python = executable,
            Script = Path.Combine(AppContext.BaseDirectory, ScriptName),
            HostFxr = hostFxr,
            DotnetRoot = root,
            Assembly = assembly,
            DirtySource = DirtyModule.Source,
        }, null);
    }

    private static (string? HostFxr, string? Root) FindHostFxr()
    {
        // A self-contained program carries its own hostfxr beside it.
        var local = Path.Combine(AppContext.BaseDirectory, "libhostfxr.so");
        if (File.Exists(local))
        {
            return (local, AppContext.BaseDirectory);
        }

        // <root>/shared/Microsoft.NETCore.App/<version>/ -> <root>/host/fxr/<version>/libhostfxr.so
        var runtime = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/');
        var root = Path.GetFullPath(Path.Combine(runtime, "..", "..", ".."));
        var fxr = Path.Combine(root, "host", "fxr");
        if (!Directory.Exists(fxr))
        {
            return (null, null);
        }

        var newest = Directory.GetDirectories(fxr)
            .Select(d => (Dir: d, Version: Version.TryParse(Path.GetFileName(d).Split('-')[0], out var v) ? v : null))
            .Where(d => d.Version is not null && File.Exists(Path.Combine(d.Dir, "libhostfxr.so")))
            .OrderByDescending(d => d.Version)
            .Select(d => Path.Combine(d.Dir, "libhostfxr.so"))
            .FirstOrDefault();
        return (newest, newest is null ? null : root);
    }
}
