using System.Collections.Concurrent;

namespace Unicorn.Wsgi.Workers.Reload;

/// <summary>
/// inotify through <see cref="FileSystemWatcher"/>: one non-recursive watch per directory that holds a
/// watched file, as Gunicorn's inotify reloader does (.NET shares one inotify instance per process, so
/// only the per-user watch limit applies). Events arrive on .NET's thread pool, never near Python.
/// </summary>
internal sealed class InotifyDetector : ChangeDetector
{
    private readonly Dictionary<string, FileSystemWatcher> _watchers = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _events = new();
    private volatile HashSet<string> _files = new(StringComparer.Ordinal);

    /// <summary>Whether inotify is usable here: watching the working directory must succeed.</summary>
    public static bool IsAvailable(out string? reason)
    {
        try
        {
            using var probe = new FileSystemWatcher(Directory.GetCurrentDirectory()) { EnableRaisingEvents = true };
            reason = null;
            return true;
        }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException or UnauthorizedAccessException or ArgumentException)
        {
            reason = e.Message;
            return false;
        }
    }

    public override void Watch(IReadOnlyCollection<string> files)
    {
        _files = new HashSet<string>(files, StringComparer.Ordinal);
        var dirs = files.Select(Path.GetDirectoryName).OfType<string>().Where(Directory.Exists).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _watchers.Keys.Where(d => !dirs.Contains(d)).ToList())
        {
            _watchers[gone].Dispose();
            _watchers.Remove(gone);
        }

        foreach (var dir in dirs.Where(d => !_watchers.ContainsKey(d)))
        {
            FileSystemWatcher watcher;
            try
            {
                watcher = new FileSystemWatcher(dir)
                {
                    IncludeSubdirectories = false,
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                };
            }
            catch (ArgumentException)
            {
                // Removed since it was listed; the next pass sees whether it came back.
                continue;
            }

            watcher.Changed += OnEvent;
            watcher.Created += OnEvent;
            watcher.Deleted += OnEvent;
            watcher.Renamed += OnRenamed;
            // Throws IOException at the per-user watch limit (UnauthorizedAccessException on an unreadable directory):
            // the reloader falls back to polling.
            watcher.EnableRaisingEvents = true;
            _watchers[dir] = watcher;
        }
    }

    public override List<string> TakeChanges()
    {
        Changed.Reset();
        var changed = new HashSet<string>(StringComparer.Ordinal);
        while (_events.TryDequeue(out var file))
        {
            changed.Add(file);
        }

        return [.. changed];
    }

    public override void Dispose()
    {
        foreach (var watcher in _watchers.Values)
        {
            watcher.Dispose();
        }

        _watchers.Clear();
        base.Dispose();
    }

    private void OnEvent(object sender, FileSystemEventArgs e) => Note(e.FullPath);

    private void OnRenamed(object sender, RenamedEventArgs e)
    {
        // Editors save by writing a temporary file and renaming it over the original.
        Note(e.FullPath);
        Note(e.OldFullPath);
    }

    private void Note(string path)
    {
        if (_files.Contains(path))
        {
            _events.Enqueue(path);
            Changed.Set();
        }
    }
}
