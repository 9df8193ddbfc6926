namespace Unicorn.Wsgi.ProcessContract;

/// <summary>Exit statuses operators and supervisors rely on (Gunicorn's).</summary>
public static class ExitCodes
{
    public const int WorkerBootError = 3;
    public const int AppLoadError = 4;
}
