using System.Collections.Concurrent;
using System.Net;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge.Tests.Support;

/// <summary>A dedicated app thread, as a worker runs one: attaches once, then serves requests posted to it.</summary>
public sealed class AppThread : IDisposable
{
    private readonly BlockingCollection<Action<IWsgiThread>> _work = [];
    private readonly Thread _thread;

    public AppThread(IWsgiApplication app)
    {
        var ready = new TaskCompletionSource();
        _thread = new Thread(() =>
        {
            using var handle = app.AttachThread();
            ready.SetResult();
            foreach (var item in _work.GetConsumingEnumerable())
            {
                item(handle);
            }
        })
        { IsBackground = true, Name = "test app thread" };
        _thread.Start();
        ready.Task.Wait();
    }

    public FakeSink Invoke(WsgiRequest request, FakeSink? sink = null)
    {
        sink ??= new FakeSink();
        Run(h => h.Invoke(request, sink));
        return sink;
    }

    public void Run(Action<IWsgiThread> action)
    {
        var done = new TaskCompletionSource();
        _work.Add(h =>
        {
            try
            {
                action(h);
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        if (!done.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            throw new TimeoutException("the app thread did not finish the request");
        }

        done.Task.GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join();
        _work.Dispose();
    }

    public static WsgiRequest Request(
        string method = "GET",
        string path = "/",
        string query = "",
        IReadOnlyList<KeyValuePair<string, string>>? headers = null,
        RequestBody? body = null,
        string scriptName = "")
    {
        var rawUri = query.Length == 0 ? path : path + "?" + query;
        return new WsgiRequest
        {
            Method = method,
            RawUri = rawUri,
            Path = path,
            Query = query,
            Protocol = "HTTP/1.1",
            VersionMinor = 1,
            Headers = headers ?? [new("Host", "example.test:8080")],
            Body = body ?? RequestBody.Empty,
            RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, 54321),
            ServerName = "example.test",
            ServerPort = "8080",
            ScriptName = scriptName,
        };
    }
}
