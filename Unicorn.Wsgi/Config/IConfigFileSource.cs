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
}
