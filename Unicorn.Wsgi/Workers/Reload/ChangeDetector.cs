namespace Unicorn.Wsgi.Workers.Reload;

/// <summary>
/// Notices changes to a set of files. The reloader hands it the whole set on every pass (modules come and
/// go), then collects what changed since the previous pass.
/// </summary>
internal abstract class ChangeDetector : IDisposable
{
    /// <summary>Set when a change is known before the next poll (inotify), so the reloader wakes early.</summary>
    public ManualResetEventSlim Changed { get; } = new(false);

    /// <summary>Makes <paramref name="files"/> (absolute paths) the watched set; a file new to the set starts from its current state.</summary>
    public abstract void Watch(IReadOnlyCollection<string> files);

    /// <summary>The watched files that changed (modified, replaced or deleted) since the previous call.</summary>
    public abstract List<string> TakeChanges();

    public virtual void Dispose() => Changed.Dispose();
}
