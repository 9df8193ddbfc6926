using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;

namespace Unicorn.EndToEnd.Tests.AsyncWorkers;

/// <summary>
/// A greenlet that yields many small items without pausing keeps the write queue non-empty, so the pump never saw a
/// moment to flush and buffered the whole response in the sink: the worker grew by the body's size (hundreds of MiB
/// for a large export) and, under a .NET heap limit (the default inside a container), the write failed with
/// OutOfMemoryException and the request hung for good with no log line. A list body of many small items did the same under
/// the threaded workers (an OutOfMemoryException trace in the log and no response). The sink now sends once 512 KiB are held.
/// Under gevent a list body is one write of the joined bytes, which the server copied whole into its heap (a 500 with
/// OutOfMemoryException under the limit); a large write is now handed over in 256 KiB slices.
/// </summary>
public sealed class GreenletSmallItemsTests
{
    [Theory]
    [InlineData("gevent", "")]
    [InlineData("gevent", "?list")]
    [InlineData("sync", "?list")]
    public void Many_small_items_stream_out_under_a_small_heap_limit(string workerClass, string query)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.greenlet_apps:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass,
            "--no-control-socket", "--worker-heap-limit", "32M");
        server.WaitUntilServing(port, 120);
        for (var i = 0; i < 3; i++)
        {
            var response = RawHttp.Send(port, Encoding.Latin1.GetBytes($"GET /small-items{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 60);
            var split = response.AsSpan().IndexOf("\r\n\r\n"u8);
            Assert.True(split > 0, $"request {i}: no response head\n{server.Log}");
            Assert.StartsWith("HTTP/1.1 200 OK", Encoding.Latin1.GetString(response, 0, split), StringComparison.Ordinal);
            Assert.Equal(48000 * 1024, response.Length - split - 4);
        }

        Assert.Equal((200, "hello\n"), UnicornServer.Get(port, "/", 30));
    }
}
