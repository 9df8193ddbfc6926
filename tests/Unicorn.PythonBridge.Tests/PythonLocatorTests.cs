namespace Unicorn.PythonBridge.Tests;

/// <summary>Finding Python: real interpreters and fake ones that report what we want to test.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PythonLocatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-locator-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string SystemPython => Environment.GetEnvironmentVariable("UNICORN_PYTHON") ?? "/usr/bin/python3";

    private static Func<string, string?> Env(params (string Key, string? Value)[] values) =>
        name => values.FirstOrDefault(v => v.Key == name).Value;

    /// <summary>A fake interpreter: a shell script printing a probe answer.</summary>
    private string FakePython(string version, string libDir, string ldLibrary = "libpython3.11.so", string instSoName = "libpython3.11.so.1.0")
    {
        var path = Path.Combine(_dir, "python3");
        File.WriteAllText(path, $$"""
            #!/bin/sh
            echo '{"version": "{{version}}", "executable": "{{path}}", "prefix": "{{_dir}}", "base_prefix": "{{_dir}}", "path": [], "libdir": "{{libDir}}", "ldlibrary": "{{ldLibrary}}", "instsoname": "{{instSoName}}", "multiarch": null}'
            """);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public void Finds_the_system_interpreter_and_its_libpython()
    {
        var python = PythonLocator.Locate(Env(("UNICORN_PYTHON", SystemPython)));
        Assert.Equal(SystemPython, python.Executable);
        Assert.True(File.Exists(python.LibPython));
        Assert.Matches(@"libpython3\.\d+\.so", Path.GetFileName(python.LibPython));
        Assert.True(python.ParsedVersion >= new Version(3, 11));
        Assert.NotEmpty(python.SysPath);
        Assert.NotNull(python.Prefix);
    }

    [Fact]
    public void Round_trips_through_json_for_workers()
    {
        var python = PythonLocator.Locate(Env(("UNICORN_PYTHON", SystemPython)));
        var copy = PythonInstallation.FromJson(python.ToJson());
        Assert.Equal(python.Version, copy.Version);
        Assert.Equal(python.LibPython, copy.LibPython);
        Assert.Equal(python.Executable, copy.Executable);
        Assert.Equal(python.SysPath, copy.SysPath);
    }

    [Fact]
    public void Accepts_a_libpython_path()
    {
        var lib = PythonLocator.Locate(Env(("UNICORN_PYTHON", SystemPython))).LibPython;
        var python = PythonLocator.Locate(Env(("UNICORN_PYTHON", lib)));
        Assert.Equal(lib, python.LibPython);
        Assert.Null(python.Executable);
    }

    [Fact]
    public void Uses_VIRTUAL_ENV_then_PATH()
    {
        var venv = Path.Combine(_dir, "venv");
        Directory.CreateDirectory(Path.Combine(venv, "bin"));
        File.CreateSymbolicLink(Path.Combine(venv, "bin", "python"), SystemPython);
        Assert.Equal(Path.Combine(venv, "bin", "python"), PythonLocator.Locate(Env(("VIRTUAL_ENV", venv))).Executable);

        var bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        File.CreateSymbolicLink(Path.Combine(bin, "python3"), SystemPython);
        Assert.Equal(Path.Combine(bin, "python3"), PythonLocator.Locate(Env(("PATH", "/nonexistent:" + bin))).Executable);
        Assert.Equal(Path.Combine(bin, "python3"), PythonLocator.Locate(Env(("UNICORN_PYTHON", "python3"), ("PATH", bin))).Executable);
    }

    [Fact]
    public void Too_old_version_is_one_clear_line()
    {
        var fake = FakePython("3.10.12", "/usr/lib");
        var e = Assert.Throws<PythonNotFoundException>(() => PythonLocator.Locate(Env(("UNICORN_PYTHON", fake))));
        Assert.Equal($"unicorn: Python 3.10 at {fake} is too old: Unicorn needs Python 3.11 or newer (pythonnet 3.2.1 supports 3.11-3.15)", e.Message);
    }

    [Fact]
    public void Too_new_version_is_refused()
    {
        var e = Assert.Throws<PythonNotFoundException>(() => PythonLocator.Locate(Env(("UNICORN_PYTHON", FakePython("3.16.0", "/usr/lib")))));
        Assert.Contains("too new", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_shared_libpython_names_the_package()
    {
        var libDir = Path.Combine(_dir, "lib");
        var fake = FakePython("3.11.4", libDir, "libpython3.11.a", "libpython3.11.a");
        var e = Assert.Throws<PythonNotFoundException>(() => PythonLocator.Locate(Env(("UNICORN_PYTHON", fake))));
        Assert.StartsWith($"unicorn: no shared libpython for {fake} (looked in {libDir}", e.Message, StringComparison.Ordinal);
        Assert.Contains("install libpython3.11 (Debian/Ubuntu: apt-get install libpython3.11)", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Finds_the_library_next_to_a_static_LDLIBRARY()
    {
        var libDir = Path.Combine(_dir, "lib");
        Directory.CreateDirectory(libDir);
        File.WriteAllText(Path.Combine(libDir, "libpython3.12.so.1.0"), "");
        var fake = FakePython("3.12.1", libDir, "libpython3.12.a", "libpython3.12.so.1.0");
        Assert.Equal(Path.Combine(libDir, "libpython3.12.so.1.0"), PythonLocator.Locate(Env(("UNICORN_PYTHON", fake))).LibPython);
    }

    [Theory]
    [InlineData("UNICORN_PYTHON", "/nonexistent/python3", "unicorn: UNICORN_PYTHON=/nonexistent/python3 does not exist")]
    [InlineData("PATH", "/nonexistent", "unicorn: python3 not found on PATH")]
    [InlineData("VIRTUAL_ENV", "/nonexistent/venv", "unicorn: VIRTUAL_ENV=/nonexistent/venv has no bin/python")]
    public void Missing_interpreter_is_one_clear_line(string variable, string value, string message)
    {
        var e = Assert.Throws<PythonNotFoundException>(() => PythonLocator.Locate(Env((variable, value))));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_interpreter_is_reported()
    {
        var path = Path.Combine(_dir, "python3");
        File.WriteAllText(path, "#!/bin/sh\necho 'Fatal Python error: init failed' >&2\nexit 1\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var e = Assert.Throws<PythonNotFoundException>(() => PythonLocator.Locate(Env(("UNICORN_PYTHON", path))));
        Assert.Equal($"unicorn: {path} is not a working Python interpreter (exit 1: Fatal Python error: init failed)", e.Message);
    }
}
