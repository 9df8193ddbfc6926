using System.Text.Json;
using System.Text.Json.Serialization;

namespace Unicorn.PythonBridge;

/// <summary>
/// One Python installation as the master found it. Running the interpreter to learn this costs
/// 110-400 ms, so the master does it once and hands the result to workers as JSON
/// (<see cref="EnvironmentVariable"/>).
/// </summary>
/// <param name="Version">"3.11.2".</param>
/// <param name="LibPython">Absolute path of the shared libpython to load.</param>
/// <param name="Executable">The interpreter as the user gave it (becomes sys.executable); null when only a libpython was given.</param>
/// <param name="Prefix">sys.prefix (the virtualenv when there is one).</param>
/// <param name="SysPath">sys.path as that interpreter sees it, for diagnostics.</param>
public sealed record PythonInstallation(
    string Version,
    string LibPython,
    string? Executable,
    string? Prefix,
    IReadOnlyList<string> SysPath)
{
    /// <summary>The environment variable a master uses to pass <see cref="ToJson"/> to its workers.</summary>
    public const string EnvironmentVariable = "UNICORN_PYTHON_INFO";

    [JsonIgnore]
    public Version ParsedVersion => System.Version.Parse(Version);

    /// <summary>"3.11".</summary>
    [JsonIgnore]
    public string MajorMinor => $"{ParsedVersion.Major}.{ParsedVersion.Minor}";

    /// <summary>"/usr/bin/python3, Python 3.11.2" (the libpython when no interpreter was given), for log lines.</summary>
    public string Describe() => $"{Executable ?? LibPython}, Python {Version}";

    public string ToJson() => JsonSerializer.Serialize(this, PythonInstallationJson.Default.PythonInstallation);

    public static PythonInstallation FromJson(string json) =>
        JsonSerializer.Deserialize(json, PythonInstallationJson.Default.PythonInstallation)
        ?? throw new JsonException("null Python installation");
}

[JsonSerializable(typeof(PythonInstallation))]
internal sealed partial class PythonInstallationJson : JsonSerializerContext;
