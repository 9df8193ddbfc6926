using System.Runtime.InteropServices;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Cli;

/// <summary>
/// The entries of the native build's <c>libunicorn.so</c> (packaging/publish --native): the <c>unicorn</c> launcher
/// calls <c>unicorn_main</c> with its command line, and a worker forked from the zygote calls
/// <c>unicorn_worker_main</c> (its settings come in its environment, as a spawned worker's do).
/// </summary>
internal static unsafe partial class Program
{
    [UnmanagedCallersOnly(EntryPoint = "unicorn_main")]
    private static int NativeMain(int argc, byte** argv)
    {
        var commandLine = new string[argc];
        for (var i = 0; i < argc; i++)
        {
            commandLine[i] = Marshal.PtrToStringUTF8((nint)argv[i]) ?? "";
        }

        ProgramCommandLine.SetFromNativeEntry(commandLine);
        OpenFilesLimit.RaiseToHard();
        return Main(commandLine[1..]);
    }

    [UnmanagedCallersOnly(EntryPoint = "unicorn_worker_main")]
    private static int NativeWorkerMain() => Main([]);
}
