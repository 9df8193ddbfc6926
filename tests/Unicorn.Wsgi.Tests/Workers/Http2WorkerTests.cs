using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// A worker offering h2 over TLS, talked to by .NET's HttpClient over HTTP/2 with a fake app: streams reach the
/// app host as requests, bodies stream both ways, and connection-specific headers stay off the wire.
/// </summary>
public sealed class Http2WorkerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-h2-unit-").FullName;

    public Http2WorkerTests()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(_dir, "server.pem"), cert.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, "server.key"), key.ExportPkcs8PrivateKeyPem());
    }

    private void Configure(Settings s)
    {
        s.Set("certfile", Path.Combine(_dir, "server.pem"));
        s.Set("keyfile", Path.Combine(_dir, "server.key"));
        s.Set("http_protocols", "h2,h1");
        s.Set("threads", 4);
    }

    private static HttpClient Client(WorkerHarness h) => new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    })
    {
        BaseAddress = new Uri($"https://127.0.0.1:{h.Port}"),
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(60),
    };

    [Fact]
    public async Task A_large_body_streams_to_the_app_and_back_over_http2()
    {
        var seen = new List<WsgiRequest>();
        await using var h = new WorkerHarness(
            (req, resp) =>
            {
                lock (seen)
                {
                    seen.Add(req);
                }

                var buffered = req.Body.TryGetBuffered(out _);
                using var copy = new MemoryStream();
                var buffer = new byte[65536];
                int n;
                while ((n = req.Body.Read(buffer)) > 0)
                {
                    copy.Write(buffer, 0, n);
                }

                resp.SetResponse("200 OK", [new("Content-Length", copy.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("X-Buffered", buffered ? "yes" : "no")]);
                resp.Write(copy.ToArray());
                resp.Complete();
            },
            Configure);
        using var client = Client(h);
        var body = new byte[3 << 20];
        new Random(5).NextBytes(body);

        using var response = await client.PostAsync("/upload?x=1", new ByteArrayContent(body));
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        // Over 1 MiB: wsgi.input reads the stream as it arrives instead of a buffer.
        Assert.Equal("no", Assert.Single(response.Headers.GetValues("X-Buffered")));
        var request = Assert.Single(seen);
        Assert.Equal("HTTP/2", request.Protocol);
        Assert.Equal("https", request.UrlScheme);
        Assert.Equal("/upload", request.Path);
        Assert.Equal("x=1", request.Query);
        Assert.Equal(body.Length, request.Body.Length);
    }

    [Fact]
    public async Task Hundred_concurrent_streams_run_on_one_connection_and_each_counts_as_a_request()
    {
        var peers = new HashSet<int>();
        await using var h = new WorkerHarness(
            (req, resp) =>
            {
                lock (peers)
                {
                    peers.Add(req.RemoteEndPoint!.Port);
                }

                Thread.Sleep(20);
                resp.SetResponse("200 OK", [new("Content-Length", "2")]);
                resp.Write("ok"u8);
                resp.Complete();
            },
            Configure);
        using var client = Client(h);

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => client.GetStringAsync($"/{i}")));
        Assert.All(responses, r => Assert.Equal("ok", r));
        Assert.Single(peers);
        Assert.True(SpinWait.SpinUntil(() => h.Worker.RequestCount == 100, TimeSpan.FromSeconds(10)), h.Worker.RequestCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_streamed_response_arrives_before_the_app_finishes_and_hop_by_hop_headers_are_dropped()
    {
        using var secondPieceAllowed = new ManualResetEventSlim();
        await using var h = new WorkerHarness(
            (req, resp) =>
            {
                resp.SetResponse("200 OK", [new("Connection", "keep-alive"), new("Keep-Alive", "timeout=5"), new("X-App", "yes")]);
                resp.Write("first "u8);
                resp.Flush();
                secondPieceAllowed.Wait(TimeSpan.FromSeconds(30));
                resp.Write("second"u8);
                resp.Complete();
            },
            Configure);
        using var client = Client(h);

        using var response = await client.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead);
        Assert.False(response.Headers.Contains("Connection"));
        Assert.False(response.Headers.Contains("Keep-Alive"));
        Assert.Equal("yes", Assert.Single(response.Headers.GetValues("X-App")));
        await using var stream = await response.Content.ReadAsStreamAsync();
        var first = new byte[6];
        await stream.ReadExactlyAsync(first).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("first "u8.ToArray(), first);
        secondPieceAllowed.Set();
        using var rest = new StreamReader(stream);
        Assert.Equal("second", await rest.ReadToEndAsync());
    }

    [Fact]
    public async Task Without_h2_in_http_protocols_tls_offers_only_http11()
    {
        await using var h = new WorkerHarness(
            (req, resp) =>
            {
                resp.SetResponse("200 OK", [new("Content-Length", "2")]);
                resp.Write("ok"u8);
                resp.Complete();
            },
            s =>
            {
                Configure(s);
                s.Set("http_protocols", "h1");
            });
        using var client = Client(h);
        client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower;

        using var response = await client.GetAsync("/");
        Assert.Equal(HttpVersion.Version11, response.Version);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
