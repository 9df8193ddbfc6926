using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>
/// A large response body in one <c>http.response.body</c> under <c>worker_heap_limit</c> (the default inside a container
/// with a memory limit): the server copied it whole into its heap, so the request got no answer (a .NET
/// OutOfMemoryException in the log) or the worker crashed. It is now handed over in 256 KiB slices.
/// </summary>
public sealed class AsgiHeapLimitTests
{
    [Fact]
    public void A_body_larger_than_the_heap_limit_is_sent_whole_and_the_worker_serves_on()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-w", "1",
            "--worker-heap-limit", "16M", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");
        var worker = Assert.Single(server.Workers());
        for (var i = 0; i < 2; i++)
        {
            var response = RawHttp.Send(port, Encoding.Latin1.GetBytes("GET /one-big-body HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 60);
            var split = response.AsSpan().IndexOf("\r\n\r\n"u8);
            Assert.True(split > 0, $"request {i}: no response head\n{server.Log}");
            Assert.StartsWith("HTTP/1.1 200 OK", Encoding.Latin1.GetString(response, 0, split), StringComparison.Ordinal);
            Assert.Equal(40 * 1024 * 1024, response.Length - split - 4);
        }

        Assert.Equal(worker, Assert.Single(server.Workers()));
        Assert.DoesNotContain("OutOfMemoryException", server.Log, StringComparison.Ordinal);
    }
}
