namespace Unicorn.Wsgi.Arbiter;

/// <summary>What a zygote prepares before it forks: the app's directory, pythonpath, and the app to preload.</summary>
/// <param name="Directory">The directory workers run in (<c>--chdir</c>, else the master's).</param>
/// <param name="PythonPath">The <c>--pythonpath</c> entries.</param>
/// <param name="Preload">The APP_MODULE to import once in the zygote (<c>--preload</c>); null imports nothing.</param>
public sealed record ZygoteApp(string Directory, IReadOnlyList<string> PythonPath, string? Preload);
