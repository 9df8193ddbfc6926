namespace Unicorn.Wsgi.Config;

/// <summary>The worker classes Unicorn implements, under their Gunicorn names and class paths.</summary>
public static class WorkerClasses
{
    /// <summary>"sync" or "gthread" for the names Unicorn implements, otherwise the name as given.</summary>
    public static string Normalise(string name) => name switch
    {
        "sync" or "gunicorn.workers.sync.SyncWorker" or "egg:gunicorn#sync" => "sync",
        "gthread" or "gunicorn.workers.gthread.ThreadWorker" or "egg:gunicorn#gthread" => "gthread",
        _ => name,
    };

    public static bool IsSupported(string name) => Normalise(name) is "sync" or "gthread";
}
