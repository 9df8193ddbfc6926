using System.Diagnostics;
using System.Globalization;
using System.Net;
using Unicorn.PythonBridge;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;

namespace Unicorn.BridgeBench;

/// <summary>
/// Calls a WSGI app through <see cref="PythonWsgiApplication"/> in a loop on one app thread, with a sink
/// that discards the response, and prints calls per second: the bridge's own cost per request.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var appUri = args.Length > 0 ? args[0] : "pyfixtures.hello:app";
        var calls = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000;
        var root = FindRepoRoot();
        var log = new StderrErrorLog(LogLevel.Warning);
        PythonRuntime runtime;
        try
        {
            runtime = PythonRuntime.Initialize(PythonLocator.Locate(), log, new PythonRuntimeOptions { Chdir = root });
        }
        catch (PythonNotFoundException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }

        var app = PythonWsgiApplication.Load(runtime, appUri, new WsgiAppOptions(), log);
        var request = new WsgiRequest
        {
            Method = "GET",
            RawUri = "/hello?name=world",
            Path = "/hello",
            Query = "name=world",
            Protocol = "HTTP/1.1",
            VersionMinor = 1,
            Headers =
            [
                new("Host", "127.0.0.1:8000"), new("User-Agent", "wrk"), new("Accept", "*/*"),
                new("Accept-Encoding", "gzip"), new("Connection", "keep-alive"),
            ],
            Body = RequestBody.Empty,
            RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, 40000),
            ServerName = "127.0.0.1",
            ServerPort = "8000",
        };

        double best = 0;
        var thread = new Thread(() =>
        {
            using var handle = app.AttachThread();
            var sink = new NullSink();
            for (var round = 0; round < 5; round++)
            {
                var n = round == 0 ? calls / 10 : calls; // round 0 warms up the JIT
                var watch = Stopwatch.StartNew();
                for (var i = 0; i < n; i++)
                {
                    sink.Reset();
                    handle.Invoke(request, sink);
                }

                var rate = n / watch.Elapsed.TotalSeconds;
                if (round > 0)
                {
                    best = Math.Max(best, rate);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round}: {rate:N0} calls/s ({sink.Bytes} bytes last)"));
                }
            }
        });
        thread.Start();
        thread.Join();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{appUri}: best {best:N0} calls/s"));
        runtime.Shutdown();
        return 0;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Unicorn.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }

    private sealed class NullSink : IResponseSink
    {
        public bool HeadersSent { get; private set; }

        public int Bytes { get; private set; }

        public void Reset()
        {
            HeadersSent = false;
            Bytes = 0;
        }

        public void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers)
        {
        }

        public void Write(ReadOnlySpan<byte> data)
        {
            HeadersSent = true;
            Bytes += data.Length;
        }

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
