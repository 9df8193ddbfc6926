using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Http2;

/// <summary>
/// A client that asks for a large response and reads none of it holds the app thread writing it only for the
/// 30 s a plain socket's send waits for a client that takes nothing: over TLS (SslStream's blocking write) and over
/// HTTP/2 (a stream whose flow-control window the client keeps shut) as over plain HTTP/1.1. Before, each held its
/// thread for good, and two of them left a two-thread worker serving nobody.
/// </summary>
public sealed class StalledReaderTests : IDisposable
{
    private readonly TestCertificates _certs = new();

    public void Dispose() => _certs.Dispose();

    [Fact]
    public void Clients_that_read_nothing_over_tls_and_http2_give_their_threads_back_after_30_seconds()
    {
        var port = UnicornServer.FreePort();
        // timeout 120: the master's worker timeout must not be what frees the threads.
        using var server = Http2ServerFixture.Start(_certs, port, "--http-protocols", "h2,h1", "-k", "gthread", "--threads", "2", "--timeout", "120",
            "--access-logfile", "-");
        var result = Http2ServerFixture.Hostile(port, 120, "stalled_readers", "5", "36");
        Assert.True(result.ExitCode == 0, result.All);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Both threads are held while the two clients stall, and given back once they have taken nothing for 30 s.
        Assert.Matches("^t=[0-9]+ normal=timeout$", lines[0]);
        Assert.Matches("^t=[0-9]+ normal=200$", lines[1]);
        Assert.Equal("http2 stream then got: RST_STREAM INTERNAL_ERROR", lines[2]);
        // Each of the two requests ended, with what it had sent: the TLS one and the HTTP/2 one.
        server.WaitForLog("\"GET /large HTTP/1.1\" 200 ", 1, 10);
        server.WaitForLog("\"GET /large HTTP/2\" 200 ", 1, 10);
        Assert.DoesNotContain("WORKER TIMEOUT", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }
}
