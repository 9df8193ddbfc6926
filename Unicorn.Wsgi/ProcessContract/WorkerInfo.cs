namespace Unicorn.Wsgi.ProcessContract;

/// <summary>A worker as the master's hooks see it (Gunicorn passes its worker object).</summary>
public sealed record WorkerInfo(int Pid, int Age);

/// <summary>A listening socket as the master's hooks see it: its descriptor and how Gunicorn prints it.</summary>
public sealed record ListeningSocket(int Fd, string Name);
