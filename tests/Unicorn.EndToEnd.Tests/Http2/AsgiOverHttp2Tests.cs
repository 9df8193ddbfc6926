using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Http2;

/// <summary>The ASGI worker behind HTTP/2: each stream is an http scope whose http_version is "2".</summary>
public sealed class AsgiOverHttp2Tests
{
    [Fact]
    public void FastApiSeesHttpVersion2OverH2cAnd11OverHttp1()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start([
            "-k", "asgi", "pyfixtures.asgi.main:app", "-b", $"127.0.0.1:{port}",
            "--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge",
        ]);
        server.WaitUntilServing(port);

        var h2 = ExternalTool.Curl("--http2-prior-knowledge", "-w", "\nversion=%{http_version}", $"http://127.0.0.1:{port}/scope");
        Assert.True(h2.ExitCode == 0, h2.All);
        Assert.Contains("\"http_version\":\"2\"", h2.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("version=2", h2.Stdout, StringComparison.Ordinal);

        var h1 = ExternalTool.Curl("--http1.1", $"http://127.0.0.1:{port}/scope");
        Assert.Contains("\"http_version\":\"1.1\"", h1.Stdout, StringComparison.Ordinal);
        var h10 = ExternalTool.Curl("--http1.0", $"http://127.0.0.1:{port}/scope");
        Assert.Contains("\"http_version\":\"1.0\"", h10.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Pathsend_sends_the_whole_file_over_h2_where_sendfile_cannot_go_and_over_http_1_1()
    {
        var dir = Directory.CreateTempSubdirectory("pathsend");
        try
        {
            var file = Path.Combine(dir.FullName, "file.bin");
            var bytes = new byte[5_000_000];
            new Random(11).NextBytes(bytes);
            File.WriteAllBytes(file, bytes);
            var port = UnicornServer.FreePort();
            using var server = UnicornServer.Start([
                "raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-b", $"127.0.0.1:{port}",
                "--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge",
            ]);
            server.WaitUntilServing(port);

            // HTTP/2 frames the file in blocks written on async I/O; HTTP/1.1 on a plain socket uses sendfile(2).
            foreach (var (flag, version) in new[] { ("--http2-prior-knowledge", "2"), ("--http1.1", "1.1") })
            {
                var output = Path.Combine(dir.FullName, "got-" + version);
                var result = ExternalTool.Curl(flag, "-o", output, "-w", "%{http_version} %{http_code}", $"http://127.0.0.1:{port}/pathsend?{file}");
                Assert.True(result.ExitCode == 0, result.All);
                Assert.Equal($"{version} 200", result.Stdout);
                Assert.Equal(bytes, File.ReadAllBytes(output));
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Trailers_are_offered_over_h2_and_follow_the_body()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start([
            "-k", "asgi", "pyfixtures.asgi_trailers:app", "-b", $"127.0.0.1:{port}",
            "--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge",
        ]);
        server.WaitUntilServing(port);

        var h2 = ExternalTool.Curl("--http2-prior-knowledge", "-v", $"http://127.0.0.1:{port}/");
        Assert.True(h2.ExitCode == 0, h2.All);
        Assert.Equal("part one\noffered\n", h2.Stdout);
        // curl -v shows trailers after the blank line that ends the head.
        var received = h2.Stderr.Split('\n').Where(l => l.StartsWith("< ", StringComparison.Ordinal)).Select(l => l.TrimEnd('\r')).ToList();
        var endOfHead = received.IndexOf("< ");
        Assert.True(endOfHead > 0, h2.Stderr);
        Assert.Equal(["< x-checksum: abc123"], received.Skip(endOfHead + 1));

        var h1 = ExternalTool.Curl("--http1.1", $"http://127.0.0.1:{port}/");
        Assert.Equal("part one\nnot offered\n", h1.Stdout);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }
}
