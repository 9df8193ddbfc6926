using System.Buffers;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Http;

public class ResponseFramingTests
{
    private static RequestHead Request(string method = "GET", int minor = 1, bool keepAlive = true) =>
        new() { Method = method, VersionMajor = 1, VersionMinor = minor, KeepAlive = keepAlive };

    private static KeyValuePair<string, string> H(string n, string v) => new(n, v);

    private static string Render(ResponseFraming f, RequestHead req, params string[] body)
    {
        var output = new ArrayBufferWriter<byte>();
        ResponseHeadWriter.WriteHead(output, f, req);
        foreach (var b in body)
        {
            ResponseHeadWriter.WriteBody(output, f, Encoding.Latin1.GetBytes(b));
        }
        ResponseHeadWriter.WriteEnd(output, f);
        var text = Encoding.Latin1.GetString(output.WrittenSpan);
        // The Date line changes every second.
        return System.Text.RegularExpressions.Regex.Replace(text, "Date: [^\r]*\r\n", "Date: *\r\n");
    }

    [Theory]
    [InlineData(1, 4L, false, true)]
    [InlineData(1, null, true, true)]
    [InlineData(1, 0L, false, false)] // no body to wait for
    [InlineData(1, null, false, false)]
    [InlineData(0, 4L, false, false)] // RFC 9110 §10.1.1: not to an HTTP/1.0 client
    public void Continue_goes_out_before_a_body_an_HTTP11_client_holds_back(int minor, long? length, bool chunked, bool expected)
    {
        var head = new RequestHead { Method = "POST", VersionMajor = 1, VersionMinor = minor, ContentLength = length, IsChunked = chunked, ExpectContinue = true };
        Assert.Equal(expected, ResponseHeadWriter.NeedsContinue(head));
        head.ExpectContinue = false;
        Assert.False(ResponseHeadWriter.NeedsContinue(head));
        Assert.Equal("HTTP/1.1 100 Continue\r\n\r\n", Encoding.ASCII.GetString(ResponseHeadWriter.ContinueResponse));
    }

    [Fact]
    public void ContentLengthResponse()
    {
        var req = Request();
        var f = ResponseFraming.Create("200 OK", [H("Content-Type", "text/plain"), H("Content-Length", "5")], req);
        Assert.Equal(
            "HTTP/1.1 200 OK\r\nServer: unicorn\r\nDate: *\r\nConnection: keep-alive\r\n" +
            "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
            Render(f, req, "hel", "lo", "-extra"));
        Assert.True(f.EndsCleanly);
    }

    [Fact]
    public void ChunkedWhenHttp11HasNoLength()
    {
        var req = Request();
        var f = ResponseFraming.Create("200 OK", [], req);
        Assert.True(f.Chunked);
        Assert.Equal(
            "HTTP/1.1 200 OK\r\nServer: unicorn\r\nDate: *\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "5\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
            Render(f, req, "hello", "", "0123456789abcdef"));
    }

    [Fact]
    public void CloseDelimitedOnHttp10()
    {
        var req = Request(minor: 0, keepAlive: true);
        var f = ResponseFraming.Create("200 OK", [], req);
        Assert.False(f.Chunked);
        Assert.False(f.KeepAlive);
        Assert.Equal("HTTP/1.0 200 OK\r\nServer: unicorn\r\nDate: *\r\nConnection: close\r\n\r\nabc", Render(f, req, "abc"));
    }

    [Theory]
    [InlineData("HEAD", "200 OK")]
    [InlineData("GET", "204 No Content")]
    [InlineData("GET", "304 Not Modified")]
    [InlineData("GET", "101 Switching Protocols")]
    [InlineData("GET", "199 Whatever")]
    public void NoBodyForHeadAnd1xx204And304(string method, string status)
    {
        var req = Request(method);
        var f = ResponseFraming.Create(status, [H("Content-Length", "3")], req);
        Assert.True(f.OmitsBody);
        Assert.False(f.Chunked);
        Assert.True(f.KeepAlive);
        var text = Render(f, req, "abc");
        Assert.EndsWith("\r\n\r\n", text, StringComparison.Ordinal);
        // RFC 9110: HEAD and 304 may carry the length; 1xx and 204 may not.
        Assert.Equal(method == "HEAD" || status.StartsWith("304", StringComparison.Ordinal), text.Contains("Content-Length: 3", StringComparison.Ordinal));
    }

    /// <summary>
    /// Gunicorn 20.1 logs resp.sent as %(b)s: the app's body cut to its Content-Length, also for HEAD, 204 and
    /// 304 (which it sends anyway). Unicorn sends none of it but counts the same.
    /// </summary>
    [Theory]
    [InlineData("HEAD", "200 OK", null, 14)]
    [InlineData("HEAD", "200 OK", "14", 14)]
    [InlineData("HEAD", "200 OK", "5", 5)]
    [InlineData("HEAD", "200 OK", "20", 14)]
    [InlineData("GET", "204 No Content", null, 14)]
    [InlineData("GET", "204 No Content", "3", 3)]
    [InlineData("GET", "304 Not Modified", "4", 4)]
    [InlineData("GET", "200 OK", "5", 5)]
    public void BodylessResponsesCountTheBodyAsGunicornLogsIt(string method, string status, string? length, long logged)
    {
        var req = Request(method);
        var f = ResponseFraming.Create(status, length is null ? [] : [H("Content-Length", length)], req);
        var text = Render(f, req, "hello ", "world!\n\n");
        Assert.Equal(logged, f.BytesSent);
        Assert.Equal(f.OmitsBody, text.EndsWith("\r\n\r\n", StringComparison.Ordinal));
    }

    [Fact]
    public void BytesASendfileCouldNotSendAreTakenBackFromTheCount()
    {
        var f = ResponseFraming.Create("200 OK", [H("Content-Length", "10000")], Request());
        Assert.Equal(10000, f.Admit(10000L));
        f.Unsent(7000);
        Assert.Equal(3000, f.BytesSent);
        f.Unsent(5000);
        Assert.Equal(0, f.BytesSent);
    }

    [Fact]
    public void HopByHopHeadersFromTheAppAreDropped()
    {
        var f = ResponseFraming.Create("200 OK",
            [H("Connection", "close"), H("Keep-Alive", "timeout=5"), H("Transfer-Encoding", "chunked"), H("TE", "x"),
             H("Trailers", "x"), H("Upgrade", "h2c"), H("Proxy-Authenticate", "x"), H("Proxy-Authorization", "x"),
             H("Server", "evil"), H("Date", "yesterday"), H("X-Kept", "yes")], Request());
        Assert.Equal([H("X-Kept", "yes")], f.Headers);
        Assert.Equal("keep-alive", f.ConnectionValue);
    }

    [Theory]
    [InlineData("close", false)]
    [InlineData("Keep-Alive, CLOSE", false)]
    [InlineData("keep-alive", true)]
    [InlineData("closed", true)]
    public void An_asgi_apps_close_token_ends_the_connection_and_its_header_is_still_the_servers(string connection, bool keepAlive)
    {
        IReadOnlyList<KeyValuePair<string, string>> headers = [H("Connection", connection), H("Content-Length", "2")];
        var f = ResponseFraming.Create("200 OK", headers, Request());
        f.CloseIfAsked(headers);
        Assert.Equal(keepAlive, f.KeepAlive);
        Assert.Equal(keepAlive ? "keep-alive" : "close", f.ConnectionValue);
        Assert.Equal([H("Content-Length", "2")], f.Headers);
    }

    [Fact]
    public void WebsocketUpgradePassesThrough()
    {
        var f = ResponseFraming.Create("101 Switching Protocols", [H("Connection", "Upgrade"), H("Upgrade", "websocket")], Request());
        Assert.True(f.Upgrade);
        Assert.Equal("upgrade", f.ConnectionValue);
        Assert.Equal([H("Upgrade", "websocket")], f.Headers);
    }

    [Theory]
    [InlineData("200")]
    [InlineData("200OK")]
    [InlineData("20 OK")]
    [InlineData("099 Low")]
    [InlineData("abc OK")]
    [InlineData("200 OK\r\nX-Injected: 1")]
    [InlineData("200 OK\n")]
    [InlineData("200 O\0K")]
    [InlineData("200 \u0100")]
    public void BadStatusIsRefused(string status) =>
        Assert.Throws<InvalidResponseException>(() => ResponseFraming.Create(status, [], Request()));

    [Theory]
    [InlineData("X-Bad Name", "v")]
    [InlineData("X-Bad:Name", "v")]
    [InlineData("", "v")]
    [InlineData("X-\u00e9", "v")]
    [InlineData("X", "a\r\nSet-Cookie: evil=1")]
    [InlineData("X", "a\nb")]
    [InlineData("X", "a\rb")]
    [InlineData("X", "a\0b")]
    [InlineData("X", "a\u007fb")]
    [InlineData("X", "\u20ac")]
    [InlineData("Content-Length", "-1")]
    [InlineData("Content-Length", "1e3")]
    [InlineData("Content-Length", "")]
    public void BadHeadersAreRefused(string name, string value) =>
        Assert.Throws<InvalidResponseException>(() => ResponseFraming.Create("200 OK", [H(name, value)], Request()));

    [Fact]
    public void ConflictingContentLengthsAreRefusedAndDuplicatesMerged()
    {
        Assert.Throws<InvalidResponseException>(() =>
            ResponseFraming.Create("200 OK", [H("Content-Length", "1"), H("content-length", "2")], Request()));
        var f = ResponseFraming.Create("200 OK", [H("Content-Length", "2"), H("content-length", " 2 ")], Request());
        Assert.Equal([H("Content-Length", "2")], f.Headers);
    }

    [Fact]
    public void ValuesAreTrimmedAndObsTextAllowed()
    {
        var f = ResponseFraming.Create("200 Caf\u00e9", [H("X", " \tcaf\u00e9 \t")], Request());
        Assert.Equal([H("X", "caf\u00e9")], f.Headers);
    }

    [Fact]
    public void ShortBodyDoesNotEndCleanly()
    {
        var f = ResponseFraming.Create("200 OK", [H("Content-Length", "10")], Request());
        Assert.Equal(4, f.Admit(4));
        Assert.False(f.EndsCleanly);
        Assert.Equal(6L, f.Admit(100L));
        Assert.True(f.EndsCleanly);
        Assert.Equal(0, f.Admit(1));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void KeepAliveNeedsTheRequestAndTheServer(bool forceClose, bool expected) =>
        Assert.Equal(expected, ResponseFraming.Create("200 OK", [], Request(), forceClose).KeepAlive);

    [Fact]
    public void RequestWantingCloseGetsClose()
    {
        var f = ResponseFraming.Create("200 OK", [H("Content-Length", "0")], Request(keepAlive: false));
        Assert.Equal("close", f.ConnectionValue);
    }

    [Fact]
    public void ChunkHeaderIsUpperHex()
    {
        Span<byte> buffer = stackalloc byte[ChunkedEncoder.MaxChunkHeaderLength];
        var n = ChunkedEncoder.FormatChunkHeader(0xABCDEF, buffer);
        Assert.Equal("ABCDEF\r\n", Encoding.ASCII.GetString(buffer[..n]));
        n = ChunkedEncoder.FormatChunkHeader(long.MaxValue, buffer);
        Assert.Equal("7FFFFFFFFFFFFFFF\r\n", Encoding.ASCII.GetString(buffer[..n]));
    }

    [Fact]
    public void DateIsImfFixdate()
    {
        var text = Encoding.ASCII.GetString(HttpDate.NowBytes());
        Assert.Matches(@"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$", text);
        Assert.Equal("Sun, 06 Nov 1994 08:49:37 GMT", HttpDate.Format(new DateTimeOffset(1994, 11, 6, 8, 49, 37, TimeSpan.Zero)));
    }
}
