namespace Unicorn.Wsgi.Config;

/// <summary>
/// Runs a Python config file in the embedded interpreter. Implemented by Unicorn.PythonBridge; kept behind this
/// seam so the settings code and its tests need no Python.
/// </summary>
public interface IConfigFileSource
{
    /// <summary>
    /// Executes <paramref name="location"/> (a file, or an importable module) as a module, with
    /// <paramref name="workingDirectory"/> first on sys.path, and returns its globals whose names are in
    /// <paramref name="settingNames"/>, in definition order, converted to C# values (null, bool, long, double, string,
    /// lists, string-keyed dictionaries, <see cref="PythonCallable"/>, <see cref="PythonClass"/>, <see cref="PythonObject"/>).
    /// A file that raises becomes a <see cref="ConfigException"/> naming the file, the line and the exception.
    /// </summary>
    IReadOnlyList<KeyValuePair<string, object?>> Execute(ConfigLocation location, IReadOnlySet<string> settingNames, string workingDirectory);

    /// <summary>
    /// Reads a worker class Unicorn does not name itself: a subclass of uvicorn's worker whose only change is its
    /// <c>CONFIG_KWARGS</c>, found on <paramref name="searchPath"/> and Python's own path and read from its source.
    /// Null when <paramref name="path"/> names no such class.
    /// </summary>
    /// <exception cref="ConfigException">the class subclasses uvicorn's worker in a way Unicorn cannot run.</exception>
    UvicornWorkerSubclass? ReadWorkerClass(string path, IReadOnlyList<string> searchPath) => null;
}

/// <summary>A uvicorn worker subclass: the uvicorn class it extends and its <c>CONFIG_KWARGS</c>, as config values.</summary>
public sealed record UvicornWorkerSubclass(string BaseClass, IReadOnlyList<KeyValuePair<string, object?>> ConfigKwargs);
