namespace Unicorn.Wsgi.Arbiter.Control;

/// <summary>A command the master cannot run as given; its message is the reply's error.</summary>
public sealed class ControlCommandException(string message) : Exception(message);
