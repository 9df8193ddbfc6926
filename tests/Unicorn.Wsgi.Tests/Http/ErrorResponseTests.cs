using System.Text;
using Unicorn.Wsgi.Http;
using static Unicorn.Wsgi.Tests.Http.Harness;
using R = Unicorn.Wsgi.Http.RequestRejectionReason;

namespace Unicorn.Wsgi.Tests.Http;

public class ErrorResponseTests
{
    [Fact]
    public void GunicornShapedResponse()
    {
        var text = Encoding.Latin1.GetString(ErrorResponse.Build(400, "Bad Request", "Invalid Method 'x'"));
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = text[..split];
        var body = text[(split + 4)..];
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/html\r\n", head, StringComparison.Ordinal);
        Assert.Contains($"Content-Length: {Encoding.Latin1.GetByteCount(body)}", head, StringComparison.Ordinal);
        Assert.Contains("<title>Bad Request</title>", body, StringComparison.Ordinal);
        Assert.Contains("Invalid Method &#x27;x&#x27;", body, StringComparison.Ordinal);
    }

    [Fact]
    public void The_500_page_an_app_exception_gets_is_the_same_template_with_no_detail()
    {
        Assert.Equal(ErrorResponse.BuildBody("Internal Server Error", null), Unicorn.Wsgi.Application.InternalErrorPage.Body.ToArray());
    }

    [Fact]
    public void ClientBytesAreNeverReflectedAsMarkupOrHeaders()
    {
        var e = Rejects("GET /<script>alert(1)</script> HTTP/1.1\u0007\r\n\r\n", R.InvalidHttpVersion);
        var text = Encoding.Latin1.GetString(e.BuildResponse());
        Assert.DoesNotContain("<script>", text, StringComparison.Ordinal);
        var x = Rejects("GET / HTTP/1.1\r\nX: <b>\u0000</b>\r\n\r\n", R.InvalidHeaderValue);
        Assert.DoesNotContain("\0", Encoding.Latin1.GetString(x.BuildResponse()), StringComparison.Ordinal);
        var resp = Encoding.Latin1.GetString(ErrorResponse.Build(400, "Bad\r\nX: y", "a\r\n<b>"));
        Assert.StartsWith("HTTP/1.1 400 BadX: y\r\nConnection: close", resp, StringComparison.Ordinal);
        Assert.Contains("a&lt;b&gt;", resp, StringComparison.Ordinal);
        // Python's html.escape, as Gunicorn's page: latin-1 letters stay as they are.
        var page = Encoding.Latin1.GetString(ErrorResponse.BuildBody("Bad Request", "Invalid header 'caf\u00e9' & \"x\""));
        Assert.Contains("Invalid header &#x27;caf\u00e9&#x27; &amp; &quot;x&quot;", page, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nX: \u0001\r\n\r\n", 400, "Bad Request")]
    [InlineData("GET / HTTP/1.1\r\nExpect: nope\r\n\r\n", 417, "Expectation Failed")]
    [InlineData("POST / HTTP/1.1\r\nTransfer-Encoding: zstd\r\n\r\n", 501, "Not Implemented")]
    public void StatusLineMatchesTheRejection(string request, int status, string reason)
    {
        var parser = new Http1RequestParser(HttpParserOptions.Default);
        var e = Assert.Throws<BadHttpRequestException>(() => TryParse(parser, Bytes(request), new RequestHead(), out _));
        Assert.StartsWith($"HTTP/1.1 {status} {reason}\r\n", Encoding.Latin1.GetString(e.BuildResponse()), StringComparison.Ordinal);
    }

    [Fact]
    public void LogMessageEscapesControlCharacters()
    {
        var e = Rejects("GET / HTTP/1.1\r\nX\u001b[31m: 1\r\n\r\n", R.InvalidHeaderName);
        Assert.Equal("Invalid HTTP header name: 'X\\x1b[31m'", e.Message);
        Assert.DoesNotContain('\u001b', e.Message);
    }

    // Gunicorn upper-cases a field name once it is known to be a token, so every later complaint about the field
    // names it in capitals (its 400 page and its "Invalid request from" line); only a name that is not a token is
    // shown as sent. An unsupported version is shown as the parsed tuple, not as a quoted string.
    [Theory]
    [InlineData("GET / HTTP/1.1\r\nX-Val: a\u0000b\r\n\r\n", R.InvalidHeaderValue, "Invalid HTTP Header: 'X-VAL'")]
    [InlineData("GET / HTTP/1.1\r\nX-Folded: a\r\n b\r\n\r\n", R.ObsoleteFolding, "Obsolete line folding is unacceptable: 'X-FOLDED'")]
    [InlineData("GET / HTTP/1.1\r\nX_Under: 1\r\n\r\n", R.UnderscoreInHeaderName, "Invalid HTTP header name: 'X_UNDER'", true)]
    [InlineData("GET / HTTP/2.0\r\n\r\n", R.UnsupportedHttpVersion, "Invalid HTTP Version: (2, 0)")]
    [InlineData("GET / HTTP/1.1a\r\n\r\n", R.InvalidHttpVersion, "Invalid HTTP Version: 'HTTP/1.1a'")]
    public void MessagesNameTheFieldAsGunicornDoes(string request, R reason, string message, bool refuse = false)
    {
        var options = refuse ? new HttpParserOptions { HeaderMap = Unicorn.Wsgi.Config.HeaderMapPolicy.Refuse } : null;
        Assert.Equal(message, Rejects(request, reason, options).Message);
    }

    [Fact]
    public void EveryReasonHasAGunicornNameAndStatus()
    {
        foreach (var reason in Enum.GetValues<R>())
        {
            var e = HttpRejection.Create(reason, "x");
            Assert.False(string.IsNullOrEmpty(e.GunicornError));
            Assert.Contains(e.StatusCode, new[] { 400, 403, 417, 431, 500, 501 });
            Assert.False(string.IsNullOrEmpty(e.Message));
        }
    }
}
