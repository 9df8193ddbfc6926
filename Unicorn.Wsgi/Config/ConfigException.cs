namespace Unicorn.Wsgi.Config;

/// <summary>
/// A user error in the configuration: <see cref="Exception.Message"/> is the exact text to write to stderr
/// (one line; a usage error adds the usage line first, as argparse does), <see cref="ExitCode"/> the exit status
/// (2 for command-line syntax errors, 1 for bad values and files). <c>-h</c> and <c>-v</c> arrive as exit code 0 with
/// the text for stdout.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException()
    {
    }

    public ConfigException(string message)
        : base(message) => ExitCode = 1;

    public ConfigException(string message, Exception innerException)
        : base(message, innerException) => ExitCode = 1;

    public ConfigException(string message, int exitCode)
        : base(message) => ExitCode = exitCode;

    public int ExitCode { get; } = 1;
}
