using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Unicorn.EndToEnd.Tests.Arbiter;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Dirty;

/// <summary>
/// Streaming dirty results (Gunicorn 26): an action that yields is read chunk by chunk with
/// <c>client.stream()</c> / <c>stream_async()</c>, by an app written for Gunicorn's API, unchanged.
/// </summary>
public sealed class DirtyStreamingTests
{
    private const string App = "pyfixtures.dirty_stream_app:app";
    private const string Streamer = "pyfixtures.dirty_stream_app:Streamer";

    private static UnicornServer StartPool(int port) =>
        Start(["-b", $"127.0.0.1:{port}", "-w", "1", "-k", "gthread", "--threads", "4", "--no-control-socket",
            "--dirty-app", Streamer, "--dirty-workers", "1", "--dirty-threads", "4", "--dirty-timeout", "3", App]);

    private static JsonElement Call(int port, string path)
    {
        var (status, body) = Get(port, path, timeoutSeconds: 60);
        Assert.True(status == 200, $"{path}: {status} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("result").Clone();
    }

    [Fact]
    public void GeneratorsSyncAsyncBytesAndErrorsStreamThroughTheClient()
    {
        var port = FreePort();
        using var server = StartPool(port);
        server.WaitUntilResponding(port, "/plain", seconds: 120);

        // A WSGI response made of the chunks as they arrive.
        var (status, body) = Get(port, "/tokens?n=5", timeoutSeconds: 60);
        Assert.Equal(200, status);
        Assert.Equal("token0\ntoken1\ntoken2\ntoken3\ntoken4\n", body);

        Assert.Equal(["00000000", "01010101", "02020202"], Call(port, "/blobs").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal([0, 1, 2], Call(port, "/async").EnumerateArray().Select(e => e.GetProperty("i").GetInt32()));
        // An action that returns a value: that value is the only chunk.
        Assert.Equal(["not a generator"], Call(port, "/plain").EnumerateArray().Select(e => e.GetString()!));

        // The generator raises after two chunks: the caller has both, then DirtyAppError; the pool serves on.
        var broken = Call(port, "/broken");
        Assert.Equal(["one", "two"], broken.GetProperty("chunks").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal("DirtyAppError", broken.GetProperty("error").GetString());
        Assert.Equal("failed mid-stream", broken.GetProperty("message").GetString());
        server.WaitForLog("Error executing pyfixtures.dirty_stream_app:Streamer.broken: failed mid-stream", seconds: 30);
        Assert.Equal("token0\n", Get(port, "/tokens?n=1", timeoutSeconds: 60).Body);

        // dirty_timeout bounds the wait for each chunk: the caller has the first, then DirtyTimeoutError, and
        // the stuck dirty worker is replaced.
        var stalled = Call(port, "/stalls?s=30");
        Assert.Equal(["first"], stalled.GetProperty("chunks").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal("DirtyTimeoutError", stalled.GetProperty("error").GetString());
        server.WaitForLog("timed out running pyfixtures.dirty_stream_app:Streamer.stalls after 3s", seconds: 30);
        Assert.True(Poll(() => Get(port, "/tokens?n=2", timeoutSeconds: 60).Body == "token0\ntoken1\n", 60), server.Log);
    }

    [Fact]
    public void AStreamClosedEarlyClosesTheGeneratorInTheDirtyWorker()
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-dirty-stream-");
        try
        {
            using var server = StartPool(port);
            server.WaitUntilResponding(port, "/plain", seconds: 120);
            var mark = Path.Combine(dir.FullName, "closed");
            var first = Call(port, "/first?mark=" + mark);
            Assert.Equal(0, first[0].GetInt32());
            Assert.Equal(1, first[1].GetInt32());
            Assert.Equal("not a generator", first[2].GetString());
            // The endless generator's finally ran: nothing keeps producing for a caller that left.
            // The file is created, then written: wait for its text, not only for it to exist.
            Assert.True(Poll(() => File.Exists(mark) && File.ReadAllText(mark) == "closed", 30), "the dirty worker's generator was not closed:\n" + server.Log);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// 1,000 chunks of 64 KiB (64 MiB) to an HTTP client that stops reading: the dirty worker's generator waits
    /// on its socket instead of running ahead into memory, and resumes when the client reads again.
    /// </summary>
    [Fact]
    public void ASlowReaderHoldsTheGeneratorBack()
    {
        const int Chunks = 1000;
        const int Size = 65536;
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-dirty-stream-");
        try
        {
            using var server = StartPool(port);
            server.WaitUntilResponding(port, "/plain", seconds: 120);
            var mark = Path.Combine(dir.FullName, "produced");

            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16384, ReceiveTimeout = 60_000 };
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
            socket.Send(Encoding.ASCII.GetBytes($"GET /big?n={Chunks}&size={Size}&mark={mark} HTTP/1.0\r\n\r\n"));
            var buffer = new byte[65536];
            long received = socket.Receive(buffer);
            Assert.True(received > 0);

            Thread.Sleep(4000);
            var produced = int.Parse(File.ReadAllText(mark), CultureInfo.InvariantCulture);
            Assert.True(produced < Chunks / 4, $"the generator ran ahead of a reader that stopped: {produced} of {Chunks} chunks produced");

            for (int n; (n = socket.Receive(buffer)) > 0;)
            {
                received += n;
            }

            Assert.Equal(Chunks - 1, int.Parse(File.ReadAllText(mark), CultureInfo.InvariantCulture));
            Assert.True(received > (long)Chunks * Size, $"received {received} bytes");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
