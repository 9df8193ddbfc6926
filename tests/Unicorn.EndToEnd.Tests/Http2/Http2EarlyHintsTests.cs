using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Http2;

/// <summary>
/// 103 Early Hints over HTTP/2 (Workers/Http2EarlyHints), seen by a python3-h2 client (h2_hints.py): each 103 is a
/// HEADERS frame on the request's own stream, before that stream's 200, with the connection's HPACK state intact.
/// </summary>
public sealed class Http2EarlyHintsTests(Http2ServerFixture fixture) : IClassFixture<Http2ServerFixture>
{
    private static readonly string Client = Path.Combine(UnicornServer.RepoRoot, "tests", "Unicorn.EndToEnd.Tests", "Http2", "h2_hints.py");

    [Fact]
    public void Wsgi_hints_arrive_as_103s_before_the_200_on_the_same_stream()
    {
        var events = Streams("tls", fixture.Port, "/hints?a")["/hints?a"];

        Assert.Equal(5, events.Count);
        Assert.Equal(Hint("a"), Describe(events[0]));
        // The Connection field the app added is dropped (RFC 9113 §8.2.2); the value is trimmed as on HTTP/1.1.
        Assert.Equal("103 link=</app-a.js>; rel=preload; as=script|x-hint=two", Describe(events[1]));
        Assert.StartsWith("200 content-type=application/octet-stream|", Describe(events[2]), StringComparison.Ordinal);
        Assert.Equal(["data", "6", Sha256("finala"u8)], Strings(events[3]));
        Assert.Equal(["end"], Strings(events[4]));
        // The hint the app sent after its first body bytes is dropped, as on HTTP/1.1.
        Assert.DoesNotContain("late.css", events.ToString()!, StringComparison.Ordinal);

        // curl's HTTP/2 (nghttp2, strict about HPACK state) takes the 103s and then the response.
        var curl = ExternalTool.Curl("-k", "--http2", "-v", fixture.Url("/hints?b"));
        Assert.True(curl.ExitCode == 0, curl.All);
        Assert.Equal("finalb", curl.Stdout);
        var heads = curl.Stderr.Split('\n').Where(l => l.StartsWith("< HTTP/2 ", StringComparison.Ordinal)).Select(l => l.TrimEnd('\r', ' '));
        Assert.Equal(["< HTTP/2 103", "< HTTP/2 103", "< HTTP/2 200"], heads);
        Assert.Contains("< link: </style-b.css>; rel=preload; as=style", curl.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mebibyte_response_after_hints_arrives_intact()
    {
        var events = Streams("tls", fixture.Port, "/hints?big")["/hints?big"];

        Assert.Equal(Hint("big"), Describe(events[0]));
        Assert.StartsWith("103 ", Describe(events[1]), StringComparison.Ordinal);
        Assert.Contains("content-length=1048576", Describe(events[2]), StringComparison.Ordinal);
        var mebibyte = Enumerable.Range(0, 4096 * 256).Select(i => (byte)i).ToArray();
        Assert.Equal(["data", "1048576", Sha256(mebibyte)], Strings(events[3]));
        Assert.Equal(["end"], Strings(events[4]));
    }

    [Fact]
    public void Hundred_concurrent_streams_each_get_their_own_hints_before_their_own_response()
    {
        var paths = Enumerable.Range(0, 100).Select(i => $"/hints?{i}").ToArray();
        var streams = Streams("tls", fixture.Port, paths);

        Assert.False(streams.ContainsKey("goaway"));
        for (var i = 0; i < paths.Length; i++)
        {
            var events = streams[paths[i]];
            var tag = i.ToString(CultureInfo.InvariantCulture);
            Assert.Equal(Hint(tag), Describe(events[0]));
            Assert.Equal($"103 link=</app-{tag}.js>; rel=preload; as=script|x-hint=two", Describe(events[1]));
            Assert.StartsWith("200 ", Describe(events[2]), StringComparison.Ordinal);
            Assert.Equal(["data", (5 + tag.Length).ToString(CultureInfo.InvariantCulture), Sha256(System.Text.Encoding.ASCII.GetBytes("final" + tag))],
                Strings(events[3]));
            Assert.Equal(["end"], Strings(events[4]));
        }

        Assert.DoesNotContain("   at ", fixture.Server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hint_for_a_stream_the_client_reset_is_dropped_and_the_connection_goes_on()
    {
        // Both apps sleep, then send a hint; the client cancelled the first stream before that.
        var streams = Streams("tls", fixture.Port, "!/hints-late?reset", "/hints-late?kept");

        Assert.False(streams.ContainsKey("goaway"));
        Assert.Empty(streams["!/hints-late?reset"]);
        var kept = streams["/hints-late?kept"];
        Assert.Equal("103 link=</late-kept.css>; rel=preload", Describe(kept[0]));
        Assert.StartsWith("200 ", Describe(kept[1]), StringComparison.Ordinal);
        Assert.Equal(["data", "4", Sha256("late"u8)], Strings(kept[2]));
        Assert.DoesNotContain("   at ", fixture.Server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("Error handling request GET /hints-late", fixture.Server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void Asgi_informational_103_arrives_before_the_200_over_h2c()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start([
            "-k", "asgi", "pyfixtures.asgi.raw:misuse", "-b", $"127.0.0.1:{port}",
            "--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge",
        ]);
        server.WaitUntilServing(port);

        var events = Streams("h2c", port, "/early-hints")["/early-hints"];

        Assert.Equal(4, events.Count);
        Assert.Equal("103 link=</style.css>; rel=preload; as=style", Describe(events[0]));
        Assert.StartsWith("200 ", Describe(events[1]), StringComparison.Ordinal);
        Assert.Contains("content-length=2", Describe(events[1]), StringComparison.Ordinal);
        // The informational message sent after the body is dropped.
        Assert.Equal(["data", "2", Sha256("ok"u8)], Strings(events[2]));
        Assert.Equal(["end"], Strings(events[3]));
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }

    private static string Hint(string tag) => $"103 link=</style-{tag}.css>; rel=preload; as=style";

    /// <summary>Runs h2_hints.py: every path a stream on one connection; what arrived on each, in order.</summary>
    private static Dictionary<string, List<JsonElement>> Streams(string mode, int port, params string[] paths)
    {
        var result = ExternalTool.Run("/usr/bin/python3", [Client, mode, port.ToString(CultureInfo.InvariantCulture), .. paths], timeoutSeconds: 120);
        Assert.True(result.ExitCode == 0, result.All);
        using var json = JsonDocument.Parse(result.Stdout);
        return json.RootElement.EnumerateObject().ToDictionary(
            p => p.Name,
            p => p.Value.ValueKind == JsonValueKind.Array ? p.Value.EnumerateArray().Select(e => e.Clone()).ToList() : []);
    }

    /// <summary>A head event as "STATUS name=value|name=value" (the date is left out).</summary>
    private static string Describe(JsonElement head)
    {
        var fields = head[1].EnumerateArray()
            .Select(f => $"{f[0].GetString()}={f[1].GetString()}")
            .Where(f => !f.StartsWith("date=", StringComparison.Ordinal));
        return $"{head[0].GetString()} {string.Join('|', fields)}";
    }

    private static string[] Strings(JsonElement e) =>
        [.. e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number ? x.GetRawText() : x.GetString()!)];

    private static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
