using System.Net;
using Python.Runtime;
using Unicorn.PythonBridge;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.TestHost;

/// <summary>
/// Starts the embedded interpreter, serves one request on an app thread while Python threads run,
/// then shuts down and exits the way a worker does. The test asserts it exits promptly and that
/// Python's exit work (non-daemon threads joined, atexit functions) happened.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var log = new StderrErrorLog(LogLevel.Debug);
        if (args is ["paths"])
        {
            // What the embedded interpreter sees: sys.prefix, sys.executable, sys.path (one per line), then whether start-up imported multiprocessing.
            var python = PythonRuntime.Initialize(PythonLocator.Locate(), log);
            python.RunWithGil(() => PythonEngine.Exec("import sys\nprint(sys.prefix)\nprint(sys.executable)\nprint('\\n'.join(sys.path))\nprint('multiprocessing loaded:', 'multiprocessing' in sys.modules)"));
            python.Shutdown();
            return 0;
        }

        var runtime = PythonRuntime.Initialize(PythonLocator.Locate(), log, new PythonRuntimeOptions { Chdir = args.Length > 0 ? args[0] : null });
        runtime.RunWithGil(() => PythonEngine.Exec("""
            import atexit, sys, threading, time

            def spin():
                while True:
                    sum(range(1000))  # a daemon thread that keeps taking the GIL

            def finish():
                # threading._shutdown() marks the main thread stopped, then joins this thread.
                while threading.main_thread().is_alive():
                    time.sleep(0.01)
                print("non-daemon thread finished", flush=True)

            threading.Thread(target=spin, daemon=True).start()
            threading.Thread(target=finish).start()
            atexit.register(lambda: print("atexit ran", flush=True))
            """));

        var app = PythonWsgiApplication.Load(runtime, "pyfixtures.hello:app", new WsgiAppOptions(), log);
        var served = "";
        var thread = new Thread(() =>
        {
            using var handle = app.AttachThread();
            var sink = new NullSink();
            handle.Invoke(new WsgiRequest
            {
                Method = "GET",
                RawUri = "/",
                Path = "/",
                Query = "",
                Protocol = "HTTP/1.1",
                VersionMinor = 1,
                Headers = [],
                Body = RequestBody.Empty,
                ServerName = "h",
                ServerPort = "80",
                RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, 1),
            }, sink);
            served = sink.Status;
        });
        thread.Start();
        thread.Join();
        Console.WriteLine("served " + served);
        runtime.Shutdown();
        Console.WriteLine("shut down");
        return 0;
    }

    private sealed class NullSink : IResponseSink
    {
        public string Status { get; private set; } = "";

        public bool HeadersSent { get; private set; }

        public void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers) => Status = status;

        public void Write(ReadOnlySpan<byte> data) => HeadersSent = true;

        public void Flush()
        {
        }

        public bool TrySendFile(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, long count) => false;

        public void Complete() => HeadersSent = true;

        public void Abort()
        {
        }
    }
}
