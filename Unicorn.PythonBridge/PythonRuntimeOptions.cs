namespace Unicorn.PythonBridge;

/// <summary>How the embedded interpreter is prepared before any user code runs (Gunicorn's settings).</summary>
public sealed record PythonRuntimeOptions
{
    /// <summary><c>--chdir</c>: changed to and put first on sys.path; null means the current directory.</summary>
    public string? Chdir { get; init; }

    /// <summary>The master's start directory, kept on sys.path behind <see cref="Chdir"/> (null: none).</summary>
    public string? LaunchDirectory { get; init; }

    /// <summary><c>--pythonpath</c> entries, each inserted at the front of sys.path.</summary>
    public IReadOnlyList<string> PythonPath { get; init; } = [];

    /// <summary><c>-e/--env</c> values as KEY=VALUE, set in os.environ (and inherited by workers).</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    /// <summary>
    /// Names taken out of os.environ and the process's environment before any user code runs (what a worker's
    /// master passed it alone); .NET keeps reading them from its own copy.
    /// </summary>
    public IReadOnlyList<string> Unset { get; init; } = [];

    /// <summary>sys.argv for the app (Gunicorn leaves its own command line there).</summary>
    public IReadOnlyList<string>? Argv { get; init; }
}
