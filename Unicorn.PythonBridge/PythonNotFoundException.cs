namespace Unicorn.PythonBridge;

/// <summary>
/// No usable Python: the message is the complete line to print (it starts with "unicorn: ") before
/// exiting non-zero.
/// </summary>
public sealed class PythonNotFoundException(string message) : Exception(message);
