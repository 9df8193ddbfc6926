using System.Collections;
using Unicorn.PythonBridge;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Cli;

/// <summary>
/// The `unicorn` program: a master (arbiter) by default, a worker when the master started it as one.
/// Every user-facing failure ends here as one line on stderr and a non-zero exit, never a stack trace.
/// </summary>
internal static partial class Program
{
    private static int Main(string[] args)
    {
        var code = Run(args);
        if (HostInterpreter.IsRunning)
        {
            // A worker forked by the zygote runs inside python3's main(): Python's exit work is done
            // (WorkerStartup), and returning would hand python3 a thread that no longer holds the GIL.
            System.Environment.Exit(code);
        }

        if (PythonRuntime.IsInitialized)
        {
            // The master's Python (config file, hooks) never finalises: without this, what its hooks print()
            // into a piped stdout (docker logs, journald) stays in Python's buffer and is lost at exit, and its
            // atexit functions never run. Gunicorn's master gets both from Python's own exit, which also waits for
            // non-daemon threads a hook started, forever; this master does not.
            PythonRuntime.Current.Shutdown(joinThreads: false);
        }

        return code;
    }

    private static int Run(string[] args)
    {
        try
        {
            if (Pid1Init.Applies && !HandOver.IsWorkerProcess)
            {
                return Pid1Init.Run(args);
            }

            return HandOver.IsWorkerProcess ? WorkerMain.Run() : MasterMain.Run(args);
        }
        catch (ConfigException e)
        {
            return Fail(e.Message, e.ExitCode);
        }
        catch (PythonNotFoundException e)
        {
            return Fail(e.Message, 1);
        }
        catch (AppImportException e)
        {
            return Fail($"unicorn: {e.Message}", ExitCodes.AppLoadError);
        }
        catch (ArbiterException e)
        {
            return Fail(e.Message, 1);
        }
        catch (LoggingSetupException e)
        {
            return Fail(e.Message, 1);
        }
    }

    internal static IReadOnlyDictionary<string, string?> Environment()
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in System.Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = (string?)e.Value;
        }

        return env;
    }

    private static int Fail(string message, int code)
    {
        var line = message.StartsWith("unicorn:", StringComparison.Ordinal) || message.StartsWith("usage:", StringComparison.Ordinal)
            ? message
            : "unicorn: " + message;
        // Straight to fd 2, not through Console: Console's first use opens descriptors of its own, and when the
        // failure is that none are left (ulimit -n) it would throw a stack trace over the one line.
        LogFile.Stderr().Write(line.TrimEnd() + "\n");
        return code;
    }
}
