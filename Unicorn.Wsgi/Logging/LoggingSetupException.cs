namespace Unicorn.Wsgi.Logging;

/// <summary>A logging setting that cannot be used; the message is one line naming the flag or file.</summary>
public sealed class LoggingSetupException : Exception
{
    public LoggingSetupException()
    {
    }

    public LoggingSetupException(string message)
        : base(message)
    {
    }

    public LoggingSetupException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
