using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers.Reload;

/// <summary>
/// <c>--reload</c> in a worker: a background thread watches the files of every loaded module and the
/// <c>--reload-extra-file</c> entries, and when one changes asks the worker to be replaced (Gunicorn logs
/// <c>Worker reloading: %s modified</c> and exits). Unlike Gunicorn, a changed <c>.py</c> file must compile
/// first: a syntax error is logged and the running worker keeps serving until the file is fixed.
/// Python is touched only to refresh the module list and to compile a changed file, each briefly under the GIL.
/// </summary>
public sealed class Reloader : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a module emptied by a save must stay empty before it counts as the new version.</summary>
    private static readonly TimeSpan EmptyGrace = TimeSpan.FromSeconds(2);

    private readonly IModuleSource _modules;
    private readonly ExtraFiles _extraFiles;
    private readonly IErrorLog _log;
    private readonly Action<string> _onChange;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, (DateTime Mtime, string? Error)> _compiled = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private ChangeDetector _detector;
    private IReadOnlyList<string> _moduleFiles = [];
    private Thread? _thread;

    private Reloader(ChangeDetector detector, IModuleSource modules, ExtraFiles extraFiles, IErrorLog log, Action<string> onChange)
    {
        _detector = detector;
        _modules = modules;
        _extraFiles = extraFiles;
        _log = log;
        _onChange = onChange;
    }

    /// <summary>The engine is chosen now; <paramref name="onChange"/> runs once, on the watcher thread, with the file that changed.</summary>
    /// <exception cref="InvalidOperationException"><c>inotify</c> was asked for and cannot be used.</exception>
    public static Reloader Start(ReloadEngine engine, IModuleSource modules, ExtraFiles extraFiles, IErrorLog log, Action<string> onChange)
    {
        ArgumentNullException.ThrowIfNull(modules);
        ArgumentNullException.ThrowIfNull(extraFiles);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(onChange);
        ChangeDetector detector;
        if (engine == ReloadEngine.Poll)
        {
            detector = new PollDetector();
        }
        else if (InotifyDetector.IsAvailable(out var reason))
        {
            detector = new InotifyDetector();
        }
        else if (engine == ReloadEngine.Inotify)
        {
            throw new InvalidOperationException($"reload_engine 'inotify' cannot be used here: {reason}");
        }
        else
        {
            detector = new PollDetector();
        }

        foreach (var pattern in extraFiles.PatternsMatchingNothing())
        {
            log.Warning($"reload_extra_files pattern '{pattern}' matches no file yet");
        }

        var reloader = new Reloader(detector, modules, extraFiles, log, onChange);
        reloader.Refresh();
        reloader._thread = new Thread(reloader.Run) { IsBackground = true, Name = "unicorn: reloader" };
        reloader._thread.Start();
        return reloader;
    }

    /// <summary>Which engine is watching (auto resolves to inotify or poll).</summary>
    public ReloadEngine Engine => _detector is InotifyDetector ? ReloadEngine.Inotify : ReloadEngine.Poll;

    public static ReloadEngine ParseEngine(string? name) => name switch
    {
        "poll" => ReloadEngine.Poll,
        "inotify" => ReloadEngine.Inotify,
        _ => ReloadEngine.Auto,
    };

    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        if (_thread is { } thread && thread != Thread.CurrentThread)
        {
            thread.Join(TimeSpan.FromSeconds(2));
        }

        _detector.Dispose();
    }

    private void Run()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                WaitHandle.WaitAny([_stop.Token.WaitHandle, _detector.Changed.WaitHandle], Interval);
                var changes = _detector.TakeChanges();
                if (changes.Count > 0)
                {
                    // A save is often several writes: let the editor finish before compiling.
                    _stop.Token.WaitHandle.WaitOne(Settle);
                    changes.AddRange(_detector.TakeChanges());
                }

                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                _pending.UnionWith(changes);
                // A file that is gone (mid-save, or deleted) is no reason to restart, as in Gunicorn's poller:
                // when it comes back, that is a change.
                _pending.RemoveWhere(f => !File.Exists(f));
                if (_pending.Count > 0 && AllCompile())
                {
                    var file = _pending.Order(StringComparer.Ordinal).First();
                    _log.Info($"Worker reloading: {file} modified");
                    _onChange(file);
                    return;
                }

                Refresh();
            }
        }
        catch (ObjectDisposedException)
        {
            // Python shut down (the worker is exiting): nothing left to watch for.
        }
    }

    /// <summary>Re-reads the module list (when Python loaded or dropped modules) and re-expands the patterns.</summary>
    private void Refresh()
    {
        if (_modules.ModuleFilesIfChanged() is { } files)
        {
            _moduleFiles = files;
        }

        var watched = new HashSet<string>(_moduleFiles, StringComparer.Ordinal);
        watched.UnionWith(_extraFiles.Expand());
        try
        {
            _detector.Watch(watched);
        }
        catch (Exception e) when ((e is IOException or UnauthorizedAccessException) && _detector is InotifyDetector)
        {
            _log.Warning($"inotify cannot watch every module directory ({e.Message}); polling instead");
            _detector.Dispose();
            _detector = new PollDetector();
            _detector.Watch(watched);
        }
    }

    private static bool IsFreshlyEmptied(string file, DateTime mtime) =>
        new FileInfo(file).Length == 0 && DateTime.UtcNow - mtime < EmptyGrace;

    /// <summary>
    /// Whether every changed Python file compiles. A new syntax error is logged once per version of the
    /// file; the worker keeps serving, and the file is checked again when it changes.
    /// </summary>
    private bool AllCompile()
    {
        var ok = true;
        foreach (var file in _pending.Where(f => f.EndsWith(".py", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var mtime = File.GetLastWriteTimeUtc(file);
            if (IsFreshlyEmptied(file, mtime))
            {
                // An in-place save truncates before it writes, and an empty module compiles: a worker importing it
                // would fail to find the app. Judged again once it is written, or has stayed empty a while.
                ok = false;
                continue;
            }

            if (!_compiled.TryGetValue(file, out var known) || known.Mtime != mtime)
            {
                var error = _modules.CompileError(file);
                if (File.GetLastWriteTimeUtc(file) != mtime)
                {
                    // Still being written: judge it on a later pass.
                    ok = false;
                    continue;
                }

                _compiled[file] = (mtime, error);
                if (error is not null)
                {
                    _log.Exception($"Not reloading: {file} has a syntax error; the running workers keep serving until it is fixed", error);
                }

                known = (mtime, error);
            }

            ok &= known.Error is null;
        }

        return ok;
    }
}
