namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>PasteDeploy could not build the application: <see cref="Exception.Message"/> is one line, the traceback is kept apart.</summary>
public sealed class PasteLoadException : Exception
{
    public PasteLoadException()
    {
    }

    public PasteLoadException(string message)
        : base(message)
    {
    }

    public PasteLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public PasteLoadException(string message, string? traceback)
        : base(message) => Traceback = traceback;

    /// <summary>Python's formatted traceback, for the error log.</summary>
    public string? Traceback { get; }
}
