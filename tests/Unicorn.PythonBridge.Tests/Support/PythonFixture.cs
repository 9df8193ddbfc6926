using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Python.Runtime;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.Tests.Support;

/// <summary>The one interpreter of the test process (never re-initialised), shared by every test class.</summary>
public sealed class PythonFixture
{
    // As in a worker, .NET owns SIGINT before Python starts. Otherwise whether Python takes SIGINT at
    // import (it does when the handler is still SIG_DFL) would depend on whether something in the test
    // host had started .NET's signal handling yet. Not cancelled, so Ctrl-C still ends the test run.
    private static readonly PosixSignalRegistration s_sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, static _ => { });

    /// <summary>
    /// A test host started as a shell's background job (CI) has SIGINT ignored; .NET records each signal's
    /// disposition when it first sets up signal handling (a test's <c>Process.Start</c> does) and never handles one
    /// ignored then. Unicorn.Wsgi restores the defaults when it loads (<c>SignalDefaults</c>), so it loads with this
    /// assembly, before any test: loaded after .NET's set-up, it left SIGINT at SIG_DFL, unhandled by .NET, for Python
    /// to take (the pitfall test failed in one background run in three). A worker loads it first too.
    /// </summary>
#pragma warning disable CA2255 // process-wide signal state must be fixed before the runtime reads it
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RestoreSignalDefaultsFirst() => RuntimeHelpers.RunModuleConstructor(typeof(IErrorLog).Module.ModuleHandle);

    public PythonFixture()
    {
        GC.KeepAlive(s_sigint);
        PythonEngine.DebugGIL = true;
        RepoRoot = FindRepoRoot();
        Installation = PythonLocator.Locate(name => name == "UNICORN_PYTHON"
            ? Environment.GetEnvironmentVariable(name) ?? "/usr/bin/python3"
            : Environment.GetEnvironmentVariable(name));
        Runtime = PythonRuntime.Initialize(Installation, Log, new PythonRuntimeOptions
        {
            Chdir = RepoRoot,
            Env = ["UNICORN_TEST_ENV=from-env-flag"],
            Argv = ["unicorn", "tests"],
        });
        // Read now: a later test's code (asyncio, multiprocessing) may set SIGINT's Python handler itself.
        SigintAtStart = Eval("repr(__import__('_signal').getsignal(2))");
    }

    /// <summary>What Python reported as its SIGINT handler right after it started.</summary>
    public string SigintAtStart { get; }

    public string RepoRoot { get; }

    public PythonInstallation Installation { get; }

    public PythonRuntime Runtime { get; }

    public RecordingErrorLog Log { get; } = new();

    /// <summary>An app from pyfixtures, e.g. "bridge_apps:writer".</summary>
    public PythonWsgiApplication Load(string appUri, WsgiAppOptions? options = null) =>
        PythonWsgiApplication.Load(Runtime, "pyfixtures." + appUri, options ?? new WsgiAppOptions(), Log);

    /// <summary>Evaluates a Python expression (for reading state the fixture apps record).</summary>
    public string Eval(string expression) => Runtime.RunWithGil(() =>
    {
        using var result = PythonEngine.Eval(expression);
        return result.ToString() ?? "";
    });

    public static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Unicorn.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Unicorn.sln not found above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(Name)]
public sealed class PythonCollection : ICollectionFixture<PythonFixture>
{
    public const string Name = "Python";
}

/// <summary>Error log lines kept in memory.</summary>
public sealed class RecordingErrorLog : IErrorLog
{
    private readonly List<(LogLevel Level, string Message)> _entries = [];

    public bool IsEnabled(LogLevel level) => true;

    public void Log(LogLevel level, string message)
    {
        lock (_entries)
        {
            _entries.Add((level, message));
        }
    }

    public IReadOnlyList<(LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return _entries.ToArray();
            }
        }
    }

    /// <summary>Entries logged while <paramref name="action"/> ran.</summary>
    public IReadOnlyList<(LogLevel Level, string Message)> During(Action action)
    {
        int start;
        lock (_entries)
        {
            start = _entries.Count;
        }

        action();
        lock (_entries)
        {
            return _entries.Skip(start).ToArray();
        }
    }
}
