namespace Unicorn.Wsgi.Arbiter;

/// <summary>What a zygote prepares before it forks: the app's directory, pythonpath, and the app to preload.</summary>
/// <param name="Directory">The directory workers run in (<c>--chdir</c>, else the master's).</param>
/// <param name="PythonPath">The <c>--pythonpath</c> entries.</param>
/// <param name="Preload">The APP_MODULE to import once in the zygote (<c>--preload</c>); null imports nothing.</param>
/// <param name="ErrorLogLevel">The <c>gunicorn.error</c> logger's level when the workers' error log is Unicorn's own (no
/// Python log config): the zygote gives the logger a handler before the app is imported, as Gunicorn's logger has one,
/// and each worker points it at its error log. Null leaves the logger to the user's log config.</param>
/// <param name="LaunchDirectory">The master's start directory, kept on sys.path behind <paramref name="Directory"/>.</param>
/// <param name="WorkerLibrary">The worker class's library (<c>WorkerClasses.LibraryOf</c>), imported once so every
/// worker inherits it, as Gunicorn's master imports it; it patches nothing until the worker does.</param>
/// <param name="Argv">sys.argv for the app (<c>Settings.ProgramArgv</c>); empty leaves the zygote's.</param>
public sealed record ZygoteApp(string Directory, IReadOnlyList<string> PythonPath, string? Preload, string? ErrorLogLevel = null,
    string? LaunchDirectory = null, string? WorkerLibrary = null, IReadOnlyList<string>? Argv = null);
