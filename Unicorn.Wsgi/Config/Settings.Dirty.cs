namespace Unicorn.Wsgi.Config;

// Typed views of the dirty arbiter's settings (Arbiter/DirtyArbiterProcess).
public sealed partial class Settings
{
    /// <summary><c>dirty_apps</c>: MODULE:CLASS[:N] specs, already checked for shape.</summary>
    public IReadOnlyList<string> DirtyApps => Get<IReadOnlyList<string>>("dirty_apps");

    public int DirtyWorkers => Get<int>("dirty_workers");

    public int DirtyTimeout => Get<int>("dirty_timeout");

    public int DirtyThreads => Get<int>("dirty_threads");

    public int DirtyGracefulTimeout => Get<int>("dirty_graceful_timeout");

    /// <summary>As Gunicorn: the dirty arbiter runs only with both apps and workers.</summary>
    public bool DirtyEnabled => DirtyWorkers > 0 && DirtyApps.Count > 0;
}
