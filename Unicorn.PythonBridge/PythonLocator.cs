using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Unicorn.PythonBridge;

/// <summary>
/// Finds the Python to embed: <c>UNICORN_PYTHON</c> (an interpreter or a libpython path), else
/// <c>$VIRTUAL_ENV/bin/python</c>, else <c>python3</c> on PATH; then asks that interpreter for its
/// version, shared libpython, prefix and sys.path, so a virtualenv works as it does under Gunicorn.
/// </summary>
public static partial class PythonLocator
{
    /// <summary>pythonnet 3.2.1 has ABI tables for these versions only; older ones fail at start.</summary>
    public static readonly Version MinimumVersion = new(3, 11);
    public static readonly Version MaximumVersion = new(3, 15);

    private const string SupportedRange = "pythonnet 3.2.1 supports 3.11-3.15";

    // Kept Python 2 compatible so that an old interpreter still reports its version.
    private const string ProbeScript = """
        import sys, json, sysconfig
        c = sysconfig.get_config_var
        print(json.dumps({"version": "%d.%d.%d" % tuple(sys.version_info[:3]),
            "executable": sys.executable, "prefix": sys.prefix,
            "base_prefix": getattr(sys, "base_prefix", sys.prefix),
            "path": [p for p in sys.path if p],
            "libdir": c("LIBDIR"), "ldlibrary": c("LDLIBRARY"), "instsoname": c("INSTSONAME"),
            "multiarch": c("MULTIARCH")}))
        """;

    /// <summary>The installation for this process: the master's answer when it passed one, else <see cref="Locate()"/>.</summary>
    public static PythonInstallation FromEnvironmentOrLocate()
    {
        var json = Environment.GetEnvironmentVariable(PythonInstallation.EnvironmentVariable);
        return string.IsNullOrEmpty(json) ? Locate() : PythonInstallation.FromJson(json);
    }

    /// <exception cref="PythonNotFoundException">no usable Python; the message is the line to print.</exception>
    public static PythonInstallation Locate() => Locate(Environment.GetEnvironmentVariable);

    /// <exception cref="PythonNotFoundException">no usable Python; the message is the line to print.</exception>
    public static PythonInstallation Locate(Func<string, string?> getenv)
    {
        ArgumentNullException.ThrowIfNull(getenv);
        var configured = getenv("UNICORN_PYTHON");
        if (!string.IsNullOrEmpty(configured))
        {
            if (LibPythonName().IsMatch(Path.GetFileName(configured)))
            {
                return FromLibPython(configured);
            }

            // A bare name ("python3.12") is looked up on PATH, as a shell would.
            var python = configured.Contains('/', StringComparison.Ordinal) ? configured : FindOnPath(configured, getenv("PATH"));
            if (python is null || !File.Exists(python))
            {
                throw new PythonNotFoundException($"unicorn: UNICORN_PYTHON={configured} does not exist");
            }

            return Inspect(python);
        }

        var venv = getenv("VIRTUAL_ENV");
        if (!string.IsNullOrEmpty(venv))
        {
            var python = Path.Combine(venv, "bin", "python");
            if (!File.Exists(python))
            {
                throw new PythonNotFoundException($"unicorn: VIRTUAL_ENV={venv} has no bin/python; activate a valid virtualenv or set UNICORN_PYTHON");
            }

            return Inspect(python);
        }

        var onPath = FindOnPath("python3", getenv("PATH"))
            ?? throw new PythonNotFoundException("unicorn: python3 not found on PATH: install Python 3.11 or newer, or set UNICORN_PYTHON to its interpreter");
        return Inspect(onPath);
    }

    /// <summary>Runs <paramref name="python"/> once and checks what it reports.</summary>
    /// <exception cref="PythonNotFoundException">it cannot run, is too old or too new, or has no shared libpython.</exception>
    public static PythonInstallation Inspect(string python)
    {
        ArgumentNullException.ThrowIfNull(python);
        var probe = JsonDocument.Parse(RunProbe(python)).RootElement;
        string? Str(string name) => probe.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        var version = Str("version") ?? throw new PythonNotFoundException($"unicorn: {python} did not report its version");
        CheckVersion(System.Version.Parse(version), python);

        var libPython = FindLibPython(python, version, Str("libdir"), Str("multiarch"), Str("base_prefix"), Str("instsoname"), Str("ldlibrary"));
        var sysPath = probe.TryGetProperty("path", out var p) && p.ValueKind == JsonValueKind.Array
            ? p.EnumerateArray().Select(e => e.GetString() ?? "").Where(s => s.Length > 0).ToArray()
            : [];
        return new PythonInstallation(version, libPython, python, Str("prefix"), sysPath);
    }

    private static PythonInstallation FromLibPython(string path)
    {
        if (!File.Exists(path))
        {
            throw new PythonNotFoundException($"unicorn: UNICORN_PYTHON={path} does not exist");
        }

        var m = LibPythonName().Match(Path.GetFileName(path));
        var version = $"{m.Groups[1].Value}.{m.Groups[2].Value}";
        CheckVersion(System.Version.Parse(version), path);
        return new PythonInstallation(version, Path.GetFullPath(path), null, null, []);
    }

    private static void CheckVersion(Version version, string where)
    {
        var majorMinor = new Version(version.Major, version.Minor);
        if (majorMinor < MinimumVersion)
        {
            throw new PythonNotFoundException(
                $"unicorn: Python {version.Major}.{version.Minor} at {where} is too old: Unicorn needs Python 3.11 or newer ({SupportedRange})");
        }

        if (majorMinor > MaximumVersion)
        {
            throw new PythonNotFoundException(
                $"unicorn: Python {version.Major}.{version.Minor} at {where} is too new for Unicorn ({SupportedRange}); set UNICORN_PYTHON to a supported interpreter");
        }
    }

    private static string FindLibPython(string python, string version, string? libDir, string? multiarch, string? basePrefix, params string?[] names)
    {
        var v = System.Version.Parse(version);
        var majorMinor = $"{v.Major}.{v.Minor}";
        var dirs = new List<string>();
        foreach (var root in new[] { libDir, basePrefix is null ? null : Path.Combine(basePrefix, "lib") })
        {
            if (string.IsNullOrEmpty(root))
            {
                continue;
            }

            dirs.Add(root);
            if (!string.IsNullOrEmpty(multiarch))
            {
                dirs.Add(Path.Combine(root, multiarch));
            }
        }

        var files = names.Where(n => !string.IsNullOrEmpty(n) && n.Contains(".so", StringComparison.Ordinal))
            .Append($"libpython{majorMinor}.so.1.0").Append($"libpython{majorMinor}.so")
            .Distinct(StringComparer.Ordinal).ToArray();
        dirs = dirs.Distinct(StringComparer.Ordinal).ToList();
        foreach (var dir in dirs)
        {
            foreach (var file in files)
            {
                var candidate = Path.Combine(dir, file!);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        var looked = dirs.Count == 0 ? "no library directory reported" : string.Join(", ", dirs);
        throw new PythonNotFoundException(
            $"unicorn: no shared libpython for {python} (looked in {looked}): install libpython{majorMinor} " +
            $"(Debian/Ubuntu: apt-get install libpython{majorMinor}) or use a Python built with --enable-shared");
    }

    private static string RunProbe(string python)
    {
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(ProbeScript);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new PythonNotFoundException($"unicorn: cannot run {python}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new PythonNotFoundException($"unicorn: cannot run {python}: {e.Message}");
        }

        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(30_000))
            {
                process.Kill();
                throw new PythonNotFoundException($"unicorn: {python} did not answer within 30 s");
            }

            var lastLine = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
            if (process.ExitCode != 0 || lastLine is null || !lastLine.StartsWith('{'))
            {
                var error = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
                throw new PythonNotFoundException($"unicorn: {python} is not a working Python interpreter (exit {process.ExitCode}{(error is null ? "" : ": " + error)})");
            }

            return lastLine;
        }
    }

    private static string? FindOnPath(string name, string? path)
    {
        foreach (var dir in (path ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    [GeneratedRegex(@"^libpython(\d+)\.(\d+)[a-z]*\.so")]
    private static partial Regex LibPythonName();
}
