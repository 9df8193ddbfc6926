namespace Unicorn.PythonBridge;

/// <summary>
/// APP_MODULE could not be loaded. <see cref="Exception.Message"/> is Gunicorn's kind of one-line message
/// (the module or attribute named); <see cref="PythonTraceback"/> is the Python traceback for the error
/// log when the failure happened inside user code (null for a bad APP_MODULE itself).
/// </summary>
public sealed class AppImportException(string message, string? pythonTraceback) : Exception(message)
{
    public string? PythonTraceback { get; } = pythonTraceback;
}
