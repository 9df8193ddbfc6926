using Unicorn.Wsgi.Http;
using static Unicorn.Wsgi.Tests.Http.Harness;
using R = Unicorn.Wsgi.Http.RequestRejectionReason;

namespace Unicorn.Wsgi.Tests.Http;

public class RequestLineTests
{
    [Fact]
    public void OrdinaryGetIsParsed()
    {
        var h = Head("GET /a/b?x=1&y=2#frag HTTP/1.1\r\nHost: example.com\r\n\r\n");
        Assert.Equal("GET", h.Method);
        Assert.Equal("/a/b?x=1&y=2#frag", h.RawTarget);
        Assert.Equal("/a/b", h.Path);
        Assert.Equal("x=1&y=2", h.Query);
        Assert.Equal("frag", h.Fragment);
        Assert.Null(h.Scheme);
        Assert.Equal((1, 1), (h.VersionMajor, h.VersionMinor));
        Assert.Equal("HTTP/1.1", h.Protocol);
        Assert.True(h.KeepAlive);
        Assert.Null(h.ContentLength);
        Assert.False(h.IsChunked);
        Assert.False(h.HasBody);
    }

    [Fact]
    public void NeedsMoreBytesLeavesTheReaderWhereItWas()
    {
        var parser = new Http1RequestParser(HttpParserOptions.Default);
        var bytes = Bytes("GET / HTTP/1.1\r\nHost: x\r\n");
        Assert.False(TryParse(parser, bytes, new RequestHead(), out var consumed));
        Assert.Equal(0, consumed);
    }

    [Fact]
    public void ReaderStopsAtTheBody()
    {
        var parser = new Http1RequestParser(HttpParserOptions.Default);
        var bytes = Bytes("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET");
        var head = new RequestHead();
        Assert.True(TryParse(parser, bytes, head, out var consumed));
        Assert.Equal(bytes.Length - 6, consumed);
        Assert.Equal(3, head.ContentLength);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1", "GET")]
    [InlineData("M-SEARCH * HTTP/1.1", "M-SEARCH")]
    [InlineData("PROPFIND / HTTP/1.1", "PROPFIND")]
    [InlineData("ABCDEFGHIJKLMNOPQRST / HTTP/1.1", "ABCDEFGHIJKLMNOPQRST")]
    public void ConventionalMethodsAreAccepted(string line, string method)
    {
        // M-SEARCH with "*" is refused (asterisk-form is OPTIONS only), so give it a path.
        line = line.Replace(" * ", " / ", StringComparison.Ordinal);
        Assert.Equal(method, Head(line + "\r\n\r\n").Method);
    }

    [Theory]
    [InlineData("get / HTTP/1.1")]              // lower case
    [InlineData("G#T / HTTP/1.1")]              // '#'
    [InlineData("GE / HTTP/1.1")]               // shorter than 3
    [InlineData("ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1")] // longer than 20
    [InlineData("GET\0 / HTTP/1.1")]
    [InlineData("GE(T / HTTP/1.1")]             // not a token
    [InlineData("\u00dfET / HTTP/1.1")]         // non-ASCII
    [InlineData(" GET / HTTP/1.1")]             // empty method
    public void UnconventionalMethodsAreRefused(string line) => Rejects(line + "\r\n\r\n", R.InvalidRequestMethod);

    [Fact]
    public void PermitUnconventionalMethodStillRequiresAToken()
    {
        var o = new HttpParserOptions { PermitUnconventionalHttpMethod = true };
        Assert.Equal("get", Head("get / HTTP/1.1\r\n\r\n", o).Method);
        Assert.Equal("GE", Head("GE / HTTP/1.1\r\n\r\n", o).Method);
        Rejects("GE(T / HTTP/1.1\r\n\r\n", R.InvalidRequestMethod, o);
    }

    [Fact]
    public void CasefoldUpperCasesTheMethodBeforeTargetChecks()
    {
        var o = new HttpParserOptions { PermitUnconventionalHttpMethod = true, CasefoldHttpMethod = true };
        Assert.Equal("OPTIONS", Head("options * HTTP/1.1\r\n\r\n", o).Method);
        Assert.Equal("CONNECT", Head("connect example.com:443 HTTP/1.1\r\n\r\n", o).Method);
    }

    [Theory]
    [InlineData("GET  / HTTP/1.1", R.EmptyRequestTarget)]     // two spaces: empty target
    [InlineData("GET /", R.InvalidRequestLine)]                // two parts
    [InlineData("GET", R.InvalidRequestLine)]
    [InlineData("", R.InvalidRequestLine)]
    [InlineData("GET\t/ HTTP/1.1", R.InvalidRequestLine)]      // only SP separates
    [InlineData("GET /a\tb HTTP/1.1", R.InvalidRequestTarget)] // control byte in target
    [InlineData("GET /a\u007fb HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("GET /a\rb HTTP/1.1", R.InvalidRequestTarget)]
    public void MalformedRequestLinesAreRefused(string line, R reason) => Rejects(line + "\r\n\r\n", reason);

    [Theory]
    [InlineData("GET * HTTP/1.1", R.AsteriskFormWithoutOptions)]
    [InlineData("POST * HTTP/1.1", R.AsteriskFormWithoutOptions)]
    [InlineData("GET example.com:443 HTTP/1.1", R.AuthorityFormWithoutConnect)]
    [InlineData("GET foo/bar HTTP/1.1", R.AuthorityFormWithoutConnect)]
    [InlineData("GET a/b://c HTTP/1.1", R.AuthorityFormWithoutConnect)]    // "://" not after a scheme
    [InlineData("GET 1http://x/ HTTP/1.1", R.AuthorityFormWithoutConnect)] // scheme must start with a letter
    [InlineData("CONNECT / HTTP/1.1", R.InvalidRequestTarget)]            // CONNECT needs host:port
    [InlineData("CONNECT example.com HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("CONNECT example.com:99999 HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("CONNECT user@example.com:443 HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("CONNECT example.com:443/x HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("CONNECT [::1:443 HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("GET http:///path HTTP/1.1", R.InvalidRequestTarget)]     // empty authority
    [InlineData("GET http://[::1/ HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("GET http://]x/ HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("GET http://[zz::1]/ HTTP/1.1", R.InvalidRequestTarget)]  // not IPv6
    [InlineData("GET http://a[::1]/ HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("GET http://[::1]x/ HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("GET http://host:8x/ HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("GET http://host:65536/ HTTP/1.1", R.InvalidRequestTarget)]
    [InlineData("GET http://h\u00e9st/ HTTP/1.1", R.InvalidRequestTarget)] // non-ASCII authority
    public void TargetFormsAreCheckedAgainstTheMethod(string line, R reason) => Rejects(line + "\r\n\r\n", reason);

    [Fact]
    public void AsteriskFormWithOptions()
    {
        var h = Head("OPTIONS * HTTP/1.1\r\n\r\n");
        Assert.Equal("*", h.Path);
        Assert.Equal("*", h.RawTarget);
    }

    [Fact]
    public void AuthorityFormWithConnect()
    {
        var h = Head("CONNECT example.com:443 HTTP/1.1\r\n\r\n");
        Assert.Equal("example.com", h.Host);
        Assert.Equal(443, h.Port);
        Assert.Null(h.Scheme);
        var v6 = Head("CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n\r\n");
        Assert.Equal("[2001:db8::1]", v6.Host);
        Assert.Equal(8443, v6.Port);
    }

    [Theory]
    [InlineData("http://example.com/foo?q=1#f", "http", "example.com", null, "/foo", "q=1", "f")]
    [InlineData("HTTPS://Example.com:8443", "https", "Example.com", 8443, "", "", "")]
    [InlineData("http://user:pw@[::1]:81/p", "http", "[::1]", 81, "/p", "", "")]
    [InlineData("http://host:/x", "http", "host", null, "/x", "", "")]
    [InlineData("http://host?q", "http", "host", null, "", "q", "")]
    public void AbsoluteFormIsSplit(string target, string scheme, string host, int? port, string path, string query, string fragment)
    {
        var h = Head($"GET {target} HTTP/1.1\r\n\r\n");
        Assert.Equal(target, h.RawTarget);
        Assert.Equal((scheme, host, port), (h.Scheme, h.Host, h.Port));
        Assert.Equal((path, query, fragment), (h.Path, h.Query, h.Fragment));
    }

    [Theory]
    [InlineData("//double/slash?x", "//double/slash", "x")]   // Gunicorn keeps origin-form "//"
    [InlineData("/a:b", "/a:b", "")]
    [InlineData("/a?b?c#d#e", "/a", "b?c")]
    [InlineData("/%C3%A9", "/%C3%A9", "")]
    [InlineData("/\u00e9", "/\u00e9", "")]                       // obs-text kept as latin-1
    public void OriginFormIsSplitLikeGunicorn(string target, string path, string query)
    {
        var h = Head($"GET {target} HTTP/1.1\r\n\r\n");
        Assert.Equal((path, query), (h.Path, h.Query));
    }

    [Theory]
    [InlineData("HTTP/1.0", 1, 0)]
    [InlineData("HTTP/1.1", 1, 1)]
    [InlineData("HTTP/1.9", 1, 9)]
    public void VersionsOneDotXAreAccepted(string version, int major, int minor)
    {
        var h = Head($"GET / {version}\r\n\r\n");
        Assert.Equal((major, minor), (h.VersionMajor, h.VersionMinor));
    }

    [Theory]
    [InlineData("HTTP/1.1 ", R.InvalidHttpVersion)]
    [InlineData("HTTP/1.10", R.InvalidHttpVersion)]
    [InlineData("HTTP/11", R.InvalidHttpVersion)]
    [InlineData("http/1.1", R.InvalidHttpVersion)]
    [InlineData("HTTP/1,1", R.InvalidHttpVersion)]
    [InlineData("HTTP/\u0661.1", R.InvalidHttpVersion)]
    [InlineData("HTTP/0.9", R.UnsupportedHttpVersion)]
    [InlineData("HTTP/2.0", R.UnsupportedHttpVersion)]
    [InlineData("HTTP/3.0", R.UnsupportedHttpVersion)]
    public void OtherVersionsAreRefused(string version, R reason) => Rejects($"GET / {version}\r\n\r\n", reason);

    [Fact]
    public void PermitUnconventionalVersion()
    {
        var o = new HttpParserOptions { PermitUnconventionalHttpVersion = true };
        Assert.Equal(2, Head("GET / HTTP/2.0\r\n\r\n", o).VersionMajor);
        Rejects("GET / HTTP/2.00\r\n\r\n", R.InvalidHttpVersion, o);
    }

    [Fact]
    public void RequestLineLimitIsTheLineWithoutCrlf()
    {
        var o = new HttpParserOptions { LimitRequestLine = 20 };
        var line = "GET /" + new string('a', 6) + " HTTP/1.1";   // exactly 20
        Assert.Equal(20, line.Length);
        Head(line + "\r\n\r\n", o);
        var e = Rejects("GET /" + new string('a', 7) + " HTTP/1.1\r\n\r\n", R.RequestLineTooLong, o);
        Assert.Equal(400, e.StatusCode);
        Assert.Equal("LimitRequestLine", e.GunicornError);
        // Gunicorn's message names the line's length when the whole line has arrived (the CRLF past the window).
        var far = Rejects("GET /" + new string('a', 40) + " HTTP/1.1\r\nHost: a\r\n\r\n", R.RequestLineTooLong, o);
        Assert.EndsWith("(54 > 20)", far.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RequestLineLimitAppliesBeforeTheCrlfArrives()
    {
        var parser = new Http1RequestParser(new HttpParserOptions { LimitRequestLine = 10 });
        var ok = Bytes("GET /aaaaaa");   // 11 bytes, no CRLF yet: could still end at 10 + CRLF? no, 12 allowed
        Assert.False(TryParse(parser, ok, new RequestHead(), out _));
        var tooLong = Bytes("GET /aaaaaaaa");   // 13 > 10 + 2 without CRLF
        var e = Assert.Throws<BadHttpRequestException>(() => TryParse(parser, tooLong, new RequestHead(), out _));
        Assert.Equal(R.RequestLineTooLong, e.Reason);
    }

    [Theory]
    [InlineData(0, HttpParserOptions.UnlimitedRequestLine)]
    [InlineData(-1, HttpParserOptions.MaxRequestLine)]
    [InlineData(100000, HttpParserOptions.MaxRequestLine)]
    [InlineData(8190, 8190)]
    [InlineData(100, 100)]
    public void RequestLineLimitFollowsGunicornsRules(int configured, int effective) =>
        Assert.Equal(effective, new HttpParserOptions { LimitRequestLine = configured }.EffectiveLimitRequestLine);

    [Fact]
    public void UnlimitedRequestLineAcceptsLongLines()
    {
        var o = new HttpParserOptions { LimitRequestLine = 0 };
        var target = "/" + new string('x', 20000);
        Assert.Equal(target, Head($"GET {target} HTTP/1.1\r\n\r\n", o).Path);
    }

    [Fact]
    public void BadRequestLineIsReportedBeforeTheHeadersEnd()
    {
        // Gunicorn checks the line as soon as its CRLF is in; the rest never needs to arrive.
        var parser = new Http1RequestParser(HttpParserOptions.Default);
        var bytes = Bytes("GET * HTTP/1.1\r\nHost: x");
        var e = Assert.Throws<BadHttpRequestException>(() => TryParse(parser, bytes, new RequestHead(), out _));
        Assert.Equal(R.AsteriskFormWithoutOptions, e.Reason);
    }

    [Fact]
    public void LeadingEmptyLineIsRefusedAsGunicornDoes() =>
        Rejects("\r\nGET / HTTP/1.1\r\n\r\n", R.InvalidRequestLine);

    [Fact]
    public void ConnectionEndingMidHeadIsNoMoreData()
    {
        var e = Assert.Throws<BadHttpRequestException>(() => Connection("GET / HTTP/1.1\r\nHost: x\r\n"));
        Assert.Equal("NoMoreData", e.GunicornError);
        Assert.True(e.IsEndOfInput);
    }

    [Fact]
    public void ConnectionEndingBetweenRequestsIsClean() =>
        Assert.Single(Connection("GET / HTTP/1.1\r\n\r\n"));
}
