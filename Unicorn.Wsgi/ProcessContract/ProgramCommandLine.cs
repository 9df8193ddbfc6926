namespace Unicorn.Wsgi.ProcessContract;

/// <summary>
/// The command line this process was started with, program first: <see cref="Environment.GetCommandLineArgs"/>,
/// except in the native build, whose shared library .NET starts with none; its entry hands the launcher's over.
/// </summary>
public static class ProgramCommandLine
{
    private static string[]? _native;

    public static string[] Args => _native ?? Environment.GetCommandLineArgs();

    public static void SetFromNativeEntry(string[] argv) => _native = argv;
}
