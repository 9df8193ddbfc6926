using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;
using Unicorn.EndToEnd.Tests.Frameworks;

namespace Unicorn.EndToEnd.Tests.AsyncWorkers;

/// <summary>
/// <c>--no-sendfile</c> (Gunicorn's setting, for file systems where sendfile(2) misbehaves) keeps a wsgi.file_wrapper
/// body off sendfile(2): it is read and written in blocks, and arrives whole. The setting used to be accepted and ignored.
/// </summary>
public sealed class NoSendfileTests
{
    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    [InlineData("gevent")]
    public void No_sendfile_sends_a_file_wrapper_body_without_sendfile(string workerClass)
    {
        var path = Path.Combine(Path.GetTempPath(), $"unicorn-nosendfile-{Guid.NewGuid():N}.bin");
        var bytes = new byte[3_000_001];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.greenlet_apps:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, "--no-sendfile", "--no-control-socket");
        try
        {
            server.WaitUntilServing(port, 120);
            using var trace = new SendfileTrace(Assert.Single(server.Workers()));
            var response = RawHttp.Send(port, Encoding.Latin1.GetBytes($"GET /file?{Uri.EscapeDataString(path)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            var calls = trace.Stop();

            Assert.Empty(calls);
            var split = response.AsSpan().IndexOf("\r\n\r\n"u8);
            Assert.Contains($"Content-Length: {bytes.Length}", Encoding.Latin1.GetString(response, 0, split), StringComparison.Ordinal);
            Assert.Equal(bytes, response[(split + 4)..]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
