using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Http2;

/// <summary>
/// The greenlet workers behind HTTP/2 under concurrent large responses: their drain awaits each stream's window
/// rather than blocking a pool thread on it. Blocked, 200 concurrent 1 MiB streams starved the pool of the threads
/// Kestrel reads WINDOW_UPDATE frames on (19-25 req/s, requests up to 48 s, dozens of streams failed).
/// </summary>
public sealed class GreenletOverHttp2Tests : IDisposable
{
    private readonly TestCertificates _certs = new();

    public void Dispose() => _certs.Dispose();

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public void Two_hundred_concurrent_mebibyte_streams_all_complete(string workerClass)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
        [
            "pyfixtures.bench_apps:mebibyte", "-k", workerClass, "-b", $"127.0.0.1:{port}", "--certfile", _certs.ServerCert,
            "--keyfile", _certs.ServerKey, "--http-protocols", "h2,h1",
        ]);
        Assert.True(UnicornServer.Poll(() => ExternalTool.Run("curl", ["-sk", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", $"https://127.0.0.1:{port}/"]).Stdout == "200", 90), server.Log);

        var result = ExternalTool.Run("h2load", ["-n", "1000", "-c", "20", "-m", "10", $"https://127.0.0.1:{port}/"], timeoutSeconds: 300);
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("1000 succeeded, 0 failed, 0 errored, 0 timeout", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }
}
