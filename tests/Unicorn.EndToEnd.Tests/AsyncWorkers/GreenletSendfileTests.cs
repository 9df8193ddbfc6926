using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;
using Unicorn.EndToEnd.Tests.Frameworks;

namespace Unicorn.EndToEnd.Tests.AsyncWorkers;

/// <summary>
/// wsgi.file_wrapper under -k gevent and -k eventlet goes out with sendfile(2), as under the sync worker: the greenlet
/// hands the server a duplicate of the file's descriptor and waits only while a large file drains.
/// </summary>
public sealed class GreenletSendfileTests
{
    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public void A_file_wrapper_body_is_sent_with_sendfile(string workerClass)
    {
        var path = Path.Combine(Path.GetTempPath(), $"unicorn-greenlet-file-{Guid.NewGuid():N}.bin");
        var bytes = new byte[3_000_001]; // past the 256 KiB a greenlet may queue: it waits for the drain
        new Random(5).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.greenlet_apps:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, "--no-control-socket");
        try
        {
            server.WaitUntilServing(port, 120);
            using var trace = new SendfileTrace(Assert.Single(server.Workers()));
            var response = RawHttp.Send(port, Encoding.Latin1.GetBytes($"GET /file?{Uri.EscapeDataString(path)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            var calls = trace.Stop();

            Assert.True(calls.Count > 0, "no sendfile(2) call for a file_wrapper body under " + workerClass);
            var split = response.AsSpan().IndexOf("\r\n\r\n"u8);
            Assert.Contains($"Content-Length: {bytes.Length}", Encoding.Latin1.GetString(response, 0, split), StringComparison.Ordinal);
            Assert.Equal(bytes, response[(split + 4)..]);

            // A wrapper over a file-like object without a descriptor is iterated instead, and still whole.
            var iterated = RawHttp.Send(port, Encoding.Latin1.GetBytes($"GET /file?{Uri.EscapeDataString(path)}&bytesio HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            var at = iterated.AsSpan().IndexOf("\r\n\r\n"u8);
            Assert.Equal(bytes, iterated[(at + 4)..]);
            Assert.Equal((200, "hello\n"), UnicornServer.Get(port, "/", 30));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
