using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Workers.Reload;

namespace Unicorn.Wsgi.Workers;

public sealed partial class WorkerProcess
{
    private Reloader? _reloader;

    /// <summary>
    /// --reload: watch the loaded modules and --reload-extra-file entries. A change retires this worker
    /// the way max_requests does, so the master boots a replacement before this one stops serving.
    /// </summary>
    /// <returns>Null, or the exit status when the watcher cannot start (inotify asked for and unusable).</returns>
    private int? StartReloader()
    {
        if (!_settings.Reload || _options.ModuleSource is not { } moduleSource)
        {
            return null;
        }

        _log.Warning("Reloader is on. Use in development only!"); // Gunicorn's line, once per worker
        try
        {
            var extra = new ExtraFiles(_settings.ReloadExtraFiles, Directory.GetCurrentDirectory());
            _reloader = Reloader.Start(Reloader.ParseEngine(_settings.ReloadEngine), moduleSource(), extra, _log, _ => Retire(TimeSpan.FromSeconds(Math.Max(_config.GracefulTimeout, 5)), RetireCause.CodeReload));
            _log.Debug($"Reloader watching with {_reloader.Engine.ToString().ToLowerInvariant()}");
            return null;
        }
        catch (InvalidOperationException e)
        {
            _log.Error(e.Message);
            return ExitCodes.WorkerBootError;
        }
    }

    private void StopReloader() => _reloader?.Dispose();
}
