namespace Unicorn.Wsgi.Arbiter;

/// <summary>The zygote could not be started or stopped answering; the master spawns workers instead.</summary>
public sealed class ZygoteUnavailableException(string message) : Exception(message);
