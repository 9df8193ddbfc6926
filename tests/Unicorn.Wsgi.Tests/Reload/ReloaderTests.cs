using System.Diagnostics;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers.Reload;

namespace Unicorn.Wsgi.Tests.Reload;

/// <summary>The watcher without Python: a fake module list, and a "compiler" that rejects files containing SYNTAX ERROR.</summary>
public sealed class ReloaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-reloader-").FullName;
    private readonly FakeModules _modules = new();
    private readonly ListLog _log = new();
    private readonly List<string> _changes = [];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Module(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private Reloader Start(ReloadEngine engine, params string[] extra) =>
        Reloader.Start(engine, _modules, new ExtraFiles(extra, _dir), _log, file =>
        {
            lock (_changes)
            {
                _changes.Add(file);
            }
        });

    private bool WaitForChange(double seconds)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            lock (_changes)
            {
                if (_changes.Count > 0)
                {
                    return true;
                }
            }

            Thread.Sleep(20);
        }

        return false;
    }

    [Theory]
    [InlineData(ReloadEngine.Poll)]
    [InlineData(ReloadEngine.Inotify)]
    public void AChangedModuleIsReportedOnce(ReloadEngine engine)
    {
        var app = Module("app.py", "x = 1\n");
        _modules.Files = [app];
        using var reloader = Start(engine);
        Assert.Equal(engine, reloader.Engine);
        Thread.Sleep(200);
        Assert.False(WaitForChange(0.5));

        File.WriteAllText(app, "x = 22\n");
        Assert.True(WaitForChange(5), "no change reported");
        Thread.Sleep(1500);
        Assert.Equal([app], _changes);
        Assert.Contains($"Worker reloading: {app} modified", _log.Lines);
    }

    [Theory]
    [InlineData(ReloadEngine.Poll)]
    [InlineData(ReloadEngine.Inotify)]
    public void AModuleCaughtEmptyMidSaveIsNoReasonToReloadUntilWritten(ReloadEngine engine)
    {
        var app = Module("app.py", "x = 1\n");
        _modules.Files = [app];
        using var reloader = Start(engine);
        Thread.Sleep(200);

        // An in-place save on a loaded machine: truncated, then written well after the watcher's settle time.
        File.WriteAllText(app, "");
        Assert.False(WaitForChange(1.2), "an emptied module must not restart the worker at once");
        File.WriteAllText(app, "x = 22\n");
        Assert.True(WaitForChange(5), "the written module is a change");
        Assert.Equal([app], _changes);
    }

    [Theory]
    [InlineData(ReloadEngine.Poll)]
    [InlineData(ReloadEngine.Inotify)]
    public void ASyntaxErrorHoldsTheReloadUntilFixed(ReloadEngine engine)
    {
        var app = Module("app.py", "x = 1\n");
        _modules.Files = [app];
        using var reloader = Start(engine);
        Thread.Sleep(200);

        File.WriteAllText(app, "x = SYNTAX ERROR\n");
        Assert.False(WaitForChange(2.5));
        Assert.Single(_log.Lines, l => l.StartsWith($"Not reloading: {app} has a syntax error", StringComparison.Ordinal));

        File.WriteAllText(app, "x = 333\n");
        Assert.True(WaitForChange(5), "the fixed file did not reload");
    }

    [Theory]
    [InlineData(ReloadEngine.Poll)]
    [InlineData(ReloadEngine.Inotify)]
    public void ADeletedModuleReloadsOnlyWhenItComesBack(ReloadEngine engine)
    {
        var app = Module("app.py", "x = 1\n");
        _modules.Files = [app];
        using var reloader = Start(engine);
        Thread.Sleep(200);

        File.Delete(app);
        Assert.False(WaitForChange(2.5));

        File.WriteAllText(app, "x = 4444\n");
        Assert.True(WaitForChange(5), "the restored file did not reload");
        Assert.Equal([app], _changes);
    }

    [Fact]
    public void ModulesImportedLaterAreWatched()
    {
        var app = Module("app.py", "x = 1\n");
        var late = Module("late.py", "y = 1\n");
        _modules.Files = [app];
        using var reloader = Start(ReloadEngine.Poll);
        _modules.Files = [app, late];
        Thread.Sleep(2200);

        File.WriteAllText(late, "y = 22\n");
        Assert.True(WaitForChange(5));
        Assert.Equal([late], _changes);
    }

    [Fact]
    public void AFileCreatedLaterMatchingAPatternIsWatched()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "conf"));
        using var reloader = Start(ReloadEngine.Poll, "conf/*.toml");
        Assert.Contains(_log.Lines, l => l.Contains("'conf/*.toml' matches no file", StringComparison.Ordinal));
        var created = Module("conf/app.toml", "a = 1\n");
        Thread.Sleep(2200);
        Assert.False(WaitForChange(0.1));

        File.WriteAllText(created, "a = 22\n");
        Assert.True(WaitForChange(5));
        Assert.Equal([created], _changes);
    }

    private sealed class FakeModules : IModuleSource
    {
        private IReadOnlyList<string>? _files;

        public IReadOnlyList<string> Files
        {
            set => Volatile.Write(ref _files, value);
        }

        public IReadOnlyList<string>? ModuleFilesIfChanged() => Interlocked.Exchange(ref _files, null);

        public string? CompileError(string path) =>
            File.ReadAllText(path).Contains("SYNTAX ERROR", StringComparison.Ordinal) ? $"  File \"{path}\", line 1\nSyntaxError: invalid syntax" : null;
    }

    private sealed class ListLog : IErrorLog
    {
        private readonly List<string> _lines = [];

        public List<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public bool IsEnabled(LogLevel level) => true;

        public void Log(LogLevel level, string message)
        {
            lock (_lines)
            {
                _lines.Add(message);
            }
        }
    }
}
