using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>How a worker ended, from its waitpid status, and what the master says and does about it.</summary>
public readonly record struct WorkerExit(int Pid, int Status)
{
    public int? ExitCode => Libc.WIFEXITED(Status) ? Libc.WEXITSTATUS(Status) : null;

    public int? Signal => Libc.WIFSIGNALED(Status) ? Libc.WTERMSIG(Status) : null;

    /// <summary>The log lines for this death, with Gunicorn's levels and text.</summary>
    public IEnumerable<(LogLevel Level, string Message)> LogLines()
    {
        if (Signal is { } sig)
        {
            var message = $"Worker (pid:{Pid}) was sent {Libc.SignalName(sig)}!";
            yield return sig switch
            {
                Libc.SIGKILL => (LogLevel.Error, message + " Perhaps out of memory?"),
                Libc.SIGTERM => (LogLevel.Info, message),
                _ => (LogLevel.Warning, message),
            };
        }

        if (ExitCode is { } code and not 0)
        {
            yield return (LogLevel.Error, $"Worker (pid:{Pid}) exited with code {code}.");
        }
    }

    /// <summary>Boot failures stop the master instead of a respawn loop: (exit status, "Reason: ..." text).</summary>
    public (int Code, string Reason)? Halt => ExitCode switch
    {
        ExitCodes.WorkerBootError => (ExitCodes.WorkerBootError, "Worker failed to boot."),
        ExitCodes.AppLoadError => (ExitCodes.AppLoadError, "App failed to load."),
        _ => null,
    };
}
