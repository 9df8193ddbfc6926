using Unicorn.PythonBridge.Tests.Support;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge.Tests;

/// <summary>gthread: several app threads sharing one interpreter, handing the GIL to each other.</summary>
[Collection(PythonCollection.Name)]
public sealed class ConcurrencyTests(PythonFixture python)
{
    [Fact]
    public void Four_app_threads_serve_concurrently_without_mixing_requests()
    {
        var app = python.Load("bridge_apps:echo_input", new WsgiAppOptions { Multithread = true });
        var threads = Enumerable.Range(0, 4).Select(_ => new AppThread(app)).ToArray();
        try
        {
            var failures = new List<string>();
            Parallel.For(0, threads.Length, t =>
            {
                for (var i = 0; i < 200; i++)
                {
                    var text = $"thread {t} request {i}\n";
                    var bytes = System.Text.Encoding.ASCII.GetBytes(text);
                    RequestBody body = i % 2 == 0 ? new BufferedRequestBody(bytes) : new StreamedBody(bytes[..5], bytes[5..]);
                    var sink = threads[t].Invoke(AppThread.Request("POST", query: "readline", body: body));
                    if (sink.BodyText != $"[{text}][]" || !sink.Completed)
                    {
                        lock (failures)
                        {
                            failures.Add($"{t}/{i}: {sink.Status} {sink.BodyText}");
                        }
                    }
                }
            });
            Assert.Empty(failures);
        }
        finally
        {
            foreach (var t in threads)
            {
                t.Dispose();
            }
        }
    }

    [Fact]
    public void Other_Python_code_runs_while_an_app_thread_waits_on_the_client()
    {
        using var thread = new AppThread(python.Load("bridge_apps:generator"));
        var ranPython = false;
        var sink = new FakeSink
        {
            // While the app thread is inside a sink call, another thread must be able to take the GIL
            // (if the app thread kept it, this would time out instead of deadlocking the test).
            GilProbe = () =>
            {
                string? result = null;
                var other = new Thread(() => result = python.Eval("1 + 1")) { IsBackground = true };
                other.Start();
                ranPython = other.Join(TimeSpan.FromSeconds(5)) && result == "2";
                return false;
            },
        };
        thread.Invoke(AppThread.Request(), sink);
        Assert.True(ranPython);
        Assert.True(sink.Completed);
    }
}
