namespace Unicorn.Wsgi.ProcessContract;

/// <summary>The app could not be imported (--preload in the master, or in a worker: exit status 4).</summary>
public sealed class AppLoadException(string message, Exception? inner = null) : Exception(message, inner);
