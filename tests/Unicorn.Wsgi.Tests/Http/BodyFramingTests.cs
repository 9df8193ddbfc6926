using Unicorn.Wsgi.Http;
using static Unicorn.Wsgi.Tests.Http.Harness;
using R = Unicorn.Wsgi.Http.RequestRejectionReason;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>RFC 9112 §6 framing as Gunicorn's set_body_reader enforces it, and stricter where noted.</summary>
public class BodyFramingTests
{
    private static string Post(string fields, string version = "HTTP/1.1") => $"POST / {version}\r\n{fields}\r\n";

    [Theory]
    [InlineData("Content-Length: 0", 0L)]
    [InlineData("Content-Length: 00042", 42L)]
    [InlineData("Content-Length: 999999999999999999", 999999999999999999L)]
    [InlineData("Content-Length:  7 ", 7L)]
    public void ContentLengthIsDigits(string field, long length) => Assert.Equal(length, Head(Post(field + "\r\n")).ContentLength);

    [Theory]
    [InlineData("Content-Length: -1")]
    [InlineData("Content-Length: +1")]
    [InlineData("Content-Length: 1.0")]
    [InlineData("Content-Length: 0x10")]
    [InlineData("Content-Length: 1 2")]
    [InlineData("Content-Length: 5, 5")]
    [InlineData("Content-Length: ")]
    [InlineData("Content-Length: \u00b2")]                        // Python's isnumeric() would say yes
    [InlineData("Content-Length: 1000000000000000000000")]    // overflow
    public void ContentLengthOtherThanDigitsIsRefused(string field) => Rejects(Post(field + "\r\n"), R.InvalidContentLength);

    [Fact]
    public void TwoContentLengthsAreRefusedEvenWhenEqual() =>
        Rejects(Post("Content-Length: 3\r\nContent-Length: 3\r\n"), R.DuplicateContentLength);

    [Theory]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 3")]
    [InlineData("Content-Length: 3\r\nTransfer-Encoding: chunked")]
    public void TransferEncodingWithContentLengthIsRefused(string fields) =>
        Rejects(Post(fields + "\r\n"), R.ContentLengthWithTransferEncoding);

    [Theory]
    [InlineData("Transfer-Encoding: chunked, chunked", R.ChunkedTwice)]
    [InlineData("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", R.ChunkedTwice)]
    [InlineData("Transfer-Encoding: chunked, gzip", R.ChunkedNotLast)]
    [InlineData("Transfer-Encoding: chunked, identity", R.ChunkedNotLast)]
    [InlineData("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity", R.ChunkedNotLast)]
    public void ChunkedMustBeLastAndOnce(string fields, R reason) => Rejects(Post(fields + "\r\n"), reason);

    [Theory]
    [InlineData("Transfer-Encoding: gzip\r\nContent-Length: 5")]
    [InlineData("Transfer-Encoding: gzip")]
    [InlineData("Transfer-Encoding: identity, deflate")]
    [InlineData("Transfer-Encoding: chunked\r\nTransfer-Encoding: compress")]
    public void ContentCodingWithoutChunkedLastIsRefused(string fields)
    {
        var e = Assert.Throws<BadHttpRequestException>(() => Head(Post(fields + "\r\n")));
        Assert.True(e.Reason is R.TransferCodingWithoutChunked or R.ChunkedNotLast, e.Reason.ToString());
        Assert.Equal("InvalidHeader", e.GunicornError);
    }

    [Fact]
    public void IdentityAloneIsNoTransferCoding()
    {
        var h = Head(Post("Transfer-Encoding: identity\r\nContent-Length: 2\r\n"));
        Assert.Equal(2, h.ContentLength);
        Assert.False(h.IsChunked);
    }

    [Fact]
    public void ChunkedOnHttp10IsRefused() =>
        Rejects(Post("Transfer-Encoding: chunked\r\n", "HTTP/1.0"), R.ChunkedOnHttp10);

    [Theory]
    [InlineData("Transfer-Encoding: br, chunked")]
    [InlineData("Transfer-Encoding: x-custom")]
    [InlineData("Transfer-Encoding: chunked,")]
    [InlineData("Transfer-Encoding: chunked\u00a0")]   // Python's strip() would remove NBSP; we do not
    public void UnknownCodingsAre501(string field)
    {
        var e = Rejects(Post(field + "\r\n"), R.UnsupportedTransferCoding);
        Assert.Equal(501, e.StatusCode);
        Assert.Equal("Not Implemented", e.ReasonPhrase);
    }

    [Theory]
    [InlineData("Transfer-Encoding: gzip, chunked", false)]
    [InlineData("Transfer-Encoding: identity, chunked", true)]
    [InlineData("Transfer-Encoding: CHUNKED", true)]
    [InlineData("Transfer-Encoding: \tchunked ", true)]
    public void KnownCodingsBeforeChunked(string field, bool keepAlive)
    {
        var h = Head(Post(field + "\r\n"));
        Assert.True(h.IsChunked);
        Assert.Null(h.ContentLength);
        Assert.Equal(keepAlive, h.KeepAlive);   // gzip/deflate/compress force a close, as in Gunicorn
    }

    [Fact]
    public void NoLengthAndNotChunkedMeansNoBody()
    {
        var requests = Connection("POST / HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
        Assert.Equal(2, requests.Count);
        Assert.Empty(requests[0].Body);
        Assert.Equal("/next", requests[1].RawTarget);
    }

    [Fact]
    public void UnderscoreTwinsOfFramingFieldsAreDroppedBeforeFramingIsDecided()
    {
        var h = Head(Post("Content_Length: 10\r\nTransfer_Encoding: chunked\r\nContent-Length: 2\r\n"));
        Assert.Equal(2, h.ContentLength);
        Assert.False(h.IsChunked);
    }

    [Fact]
    public void PipelinedRequestsAfterAContentLengthBody()
    {
        var requests = Connection("POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
        Assert.Equal(["/a", "/b", "/c"], requests.Select(r => r.RawTarget));
        Assert.Equal("hello"u8.ToArray(), requests[0].Body);
        Assert.Equal("abc"u8.ToArray(), requests[1].Body);
    }

    [Fact]
    public void NothingAfterAClosingRequestIsRead()
    {
        var requests = Connection("GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGARBAGE\r\n\r\n");
        Assert.Single(requests);
    }

    // Gunicorn's InvalidHeader(..., req=self): these refusals carry the request, which handle_error access-logs.
    [Theory]
    [InlineData("Content-Length: +5\r\n", R.InvalidContentLength)]
    [InlineData("Content-Length: 5\r\nContent-Length: 5\r\n", R.DuplicateContentLength)]
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", R.ContentLengthWithTransferEncoding)]
    [InlineData("Transfer-Encoding: chunked, gzip\r\n", R.ChunkedNotLast)]
    [InlineData("Transfer-Encoding: chunked, chunked\r\n", R.ChunkedTwice)]
    [InlineData("Transfer-Encoding: gzip\r\n", R.TransferCodingWithoutChunked)]
    [InlineData("Content-Type: a\r\nContent-Type: b\r\n", R.DuplicateSingletonHeader)]
    public void A_framing_refusal_carries_the_parsed_head(string fields, R reason)
    {
        var e = Rejects($"POST /p?q=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\r\n{fields}\r\n", reason);
        Assert.NotNull(e.Head);
        Assert.Equal(("POST", "/p?q=1", "/p", "q=1", "HTTP/1.1"), (e.Head!.Method, e.Head.RawTarget, e.Head.Path, e.Head.Query, e.Head.Protocol));
        Assert.Equal("ua", e.Head.GetHeader("User-Agent"));
    }

    [Fact]
    public void Chunked_on_http10_carries_the_head_with_its_version()
    {
        var e = Rejects(Post("Transfer-Encoding: chunked\r\n", "HTTP/1.0"), R.ChunkedOnHttp10);
        Assert.Equal("HTTP/1.0", e.Head?.Protocol);
    }

    // Gunicorn raises these without the request: no access line.
    [Theory]
    [InlineData("POST / HTTP/1.1\r\nTransfer-Encoding: x-custom\r\n\r\n", R.UnsupportedTransferCoding)]
    [InlineData("get / HTTP/1.1\r\n\r\n", R.InvalidRequestMethod)]
    [InlineData("GET / HTTP/1.1\r\nExpect: nope\r\n\r\n", R.ExpectationFailed)]
    [InlineData("GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n", R.InvalidHeaderName)]
    [InlineData("GET / HTTP/1.1\r\nX: 1\r\n folded\r\n\r\n", R.ObsoleteFolding)]
    public void Other_refusals_carry_no_head(string raw, R reason) => Assert.Null(Rejects(raw, reason).Head);
}
