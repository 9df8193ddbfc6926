namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// What the master needs to start a zygote (<c>worker_start = fork</c>): the Python interpreter to run,
/// the script it runs, and what a forked worker loads to start .NET inside itself.
/// </summary>
public sealed record ZygoteLaunch
{
    /// <summary>The python executable the master located (becomes the workers' program).</summary>
    public required string Python { get; init; }

    /// <summary><c>unicorn_zygote.py</c>, shipped beside the program.</summary>
    public required string Script { get; init; }

    /// <summary><c>libhostfxr.so</c> of the runtime this master runs on (a JIT build).</summary>
    public string HostFxr { get; init; } = "";

    /// <summary>The .NET installation root (where <c>shared/Microsoft.NETCore.App</c> is).</summary>
    public string DotnetRoot { get; init; } = "";

    /// <summary>The program's assembly (<c>unicorn.dll</c>), whose Main a forked worker runs.</summary>
    public string Assembly { get; init; } = "";

    /// <summary>A native build: <c>libunicorn.so</c>, whose <c>unicorn_worker_main</c> a forked worker calls.</summary>
    public string? NativeLibrary { get; init; }

    /// <summary>
    /// The dirty module's Python source: with <c>--preload</c> the zygote registers it as <c>unicorn_dirty</c> and
    /// <c>gunicorn.dirty</c> before importing the app, whose <c>from gunicorn.dirty import ...</c> needs it.
    /// </summary>
    public string? DirtySource { get; init; }
}
