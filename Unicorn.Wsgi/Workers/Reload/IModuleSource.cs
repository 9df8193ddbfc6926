namespace Unicorn.Wsgi.Workers.Reload;

/// <summary>
/// The Python side of <c>--reload</c>, implemented by the bridge. Each call takes the GIL only for as long
/// as it runs; the watcher calls it from its own thread, never from an app thread.
/// </summary>
public interface IModuleSource
{
    /// <summary>
    /// The source files of the modules loaded now (<c>sys.modules</c>; <c>.pyc</c> mapped back to <c>.py</c>),
    /// as absolute paths; null when no module was added or removed since the previous call.
    /// </summary>
    IReadOnlyList<string>? ModuleFilesIfChanged();

    /// <summary>Null when <paramref name="path"/> compiles as Python source, else Python's account of the error.</summary>
    string? CompileError(string path);
}
