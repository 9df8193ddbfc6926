namespace Unicorn.Wsgi.Workers.Reload;

/// <summary><c>--reload-engine</c>: how changes are noticed.</summary>
public enum ReloadEngine
{
    /// <summary>inotify, falling back to polling when inotify cannot be used.</summary>
    Auto,

    /// <summary>stat every watched file once a second, as Gunicorn's default reloader does.</summary>
    Poll,

    /// <summary>inotify watches on the directories of the watched files (FileSystemWatcher on Linux).</summary>
    Inotify,
}
