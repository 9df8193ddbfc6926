namespace Unicorn.Wsgi.Application;

/// <summary>The ASGI loop could not start: the message is one line for the error log.</summary>
public sealed class AsgiStartupException(string message) : Exception(message);
