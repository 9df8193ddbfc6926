namespace Unicorn.Wsgi.ProcessContract;

/// <summary>A worker as the master's hooks see it (Gunicorn passes its worker object).</summary>
public sealed record WorkerInfo(int Pid, int Age);
