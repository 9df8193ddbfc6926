namespace Unicorn.Wsgi.Config;

public enum ConfigLocationKind
{
    /// <summary>A Python file, run as the module <c>__config__</c>.</summary>
    PythonFile,
    /// <summary><c>python:MODULE</c>: a module imported by name.</summary>
    PythonModule,
    /// <summary>A TOML file whose top level holds the settings (or a <c>[tool.unicorn]</c> table).</summary>
    Toml,
}

/// <summary>Which config file to read, as <c>-c</c> names it: <c>PATH</c>, <c>file:PATH</c> or <c>python:MODULE</c>.</summary>
public sealed record ConfigLocation(ConfigLocationKind Kind, string Target)
{
    /// <summary>How messages and <see cref="Settings.ConfigFile"/> name it: the absolute path, or <c>python:MODULE</c>.</summary>
    public string Display => Kind == ConfigLocationKind.PythonModule ? "python:" + Target : Target;

    /// <summary>Reads a <c>-c</c> value; relative paths are taken from <paramref name="workingDirectory"/>.</summary>
    public static ConfigLocation Parse(string value, string workingDirectory)
    {
        if (value.StartsWith("python:", StringComparison.Ordinal))
        {
            return new ConfigLocation(ConfigLocationKind.PythonModule, value["python:".Length..]);
        }

        var path = value.StartsWith("file:", StringComparison.Ordinal) ? value["file:".Length..] : value;
        path = Path.GetFullPath(Path.Combine(workingDirectory, path));
        var kind = path.EndsWith(".toml", StringComparison.OrdinalIgnoreCase) ? ConfigLocationKind.Toml : ConfigLocationKind.PythonFile;
        return new ConfigLocation(kind, path);
    }
}
