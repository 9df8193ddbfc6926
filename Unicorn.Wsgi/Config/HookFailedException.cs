namespace Unicorn.Wsgi.Config;

/// <summary>A hook raised: the implementation has logged the traceback; the caller reacts as Gunicorn does.</summary>
public sealed class HookFailedException : Exception
{
    public HookFailedException()
    {
    }

    public HookFailedException(string message)
        : base(message)
    {
    }

    public HookFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The hook's setting name, e.g. "when_ready".</summary>
    public string? Hook { get; init; }

    // The Python traceback is already in the log; a .NET stack here would only add noise.
    public override string ToString() => Message;
}
