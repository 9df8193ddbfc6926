namespace Unicorn.Wsgi.ProcessContract;

/// <summary>The master cannot start; the message is the one line the user sees.</summary>
public sealed class ArbiterException(string message) : Exception(message);
