using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>A worker on a loopback port with a fake app, and raw-socket clients for it.</summary>
internal sealed class WorkerHarness : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Task _run;

    public WorkerHarness(Action<WsgiRequest, IResponseSink> handler, Action<Settings>? configure = null)
    {
        var settings = TestSettings.Defaults();
        configure?.Invoke(settings);
        _listener = Listen();
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        Log = new StringWriter();
        Worker = new Worker(settings, [_listener], new FakeApp(handler), new StderrErrorLog(LogLevel.Debug, TextWriter.Synchronized(Log)));
        _run = Worker.RunAsync();
    }

    public int Port { get; }

    /// <summary>A listening TCP socket on a free loopback port.</summary>
    public static Socket Listen()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(128);
        return socket;
    }

    public Worker Worker { get; }

    public StringWriter Log { get; }

    /// <summary>The worker's <see cref="Worker.RunAsync"/>: completes when its last connection is done.</summary>
    public Task Run => _run;

    public async Task<Socket> ConnectAsync()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(IPAddress.Loopback, Port);
        return s;
    }

    /// <summary>Sends raw bytes and reads until the server closes or the timeout passes.</summary>
    public async Task<string> ExchangeAsync(string request, TimeSpan? wait = null)
    {
        using var s = await ConnectAsync();
        await s.SendAsync(Encoding.Latin1.GetBytes(request));
        return await ReadUntilClosedAsync(s, wait ?? TimeSpan.FromSeconds(5));
    }

    public static async Task<string> ReadUntilClosedAsync(Socket s, TimeSpan wait)
    {
        var sb = new StringBuilder();
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(wait);
        try
        {
            while (true)
            {
                var n = await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    break;
                }

                sb.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }

        return sb.ToString();
    }

    /// <summary>Reads exactly the responses for n requests (each framed by Content-Length).</summary>
    public static async Task<List<string>> ReadResponsesAsync(Socket s, int n)
    {
        var all = new List<string>();
        var pending = "";
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (all.Count < n)
        {
            var headEnd = pending.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd >= 0)
            {
                var head = pending[..headEnd];
                var cl = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                var length = cl is null ? 0 : int.Parse(cl.Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                if (pending.Length >= headEnd + 4 + length)
                {
                    all.Add(pending[..(headEnd + 4 + length)]);
                    pending = pending[(headEnd + 4 + length)..];
                    continue;
                }
            }

            var read = await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (read == 0)
            {
                break;
            }

            pending += Encoding.Latin1.GetString(buffer, 0, read);
        }

        return all;
    }

    public async ValueTask DisposeAsync()
    {
        Worker.StopNow();
        _listener.Dispose();
        await _run.WaitAsync(TimeSpan.FromSeconds(10));
    }
}

internal static class TestSettings
{
    public static Settings Defaults()
    {
        var s = new Settings();
        s.Set("bind", (IReadOnlyList<string>)["127.0.0.1:0"]);
        s.Set("backlog", 2048);
        s.Set("workers", 1);
        s.Set("worker_class", "gthread");
        s.Set("threads", 2);
        s.Set("worker_connections", 1000);
        s.Set("timeout", 30);
        s.Set("graceful_timeout", 30);
        s.Set("keepalive", 2);
        s.Set("max_requests", 0);
        s.Set("max_requests_jitter", 0);
        s.Set("limit_request_line", 4094);
        s.Set("limit_request_fields", 100);
        s.Set("limit_request_field_size", 8190);
        return s;
    }
}
