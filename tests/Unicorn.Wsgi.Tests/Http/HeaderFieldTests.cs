using System.Net;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Http;
using static Unicorn.Wsgi.Tests.Http.Harness;
using R = Unicorn.Wsgi.Http.RequestRejectionReason;

namespace Unicorn.Wsgi.Tests.Http;

public class HeaderFieldTests
{
    private static string Req(string fields) => "GET / HTTP/1.1\r\n" + fields + "\r\n";

    [Fact]
    public void NamesAreKeptAsSentAndValuesTrimmed()
    {
        var h = Head(Req("hOsT: example.com\r\nX-Thing:  \t a b \t \r\nEmpty:\r\nX-Thing: again\r\n"));
        Assert.Equal(
            [new("hOsT", "example.com"), new("X-Thing", "a b"), new("Empty", ""), new("X-Thing", "again")],
            h.Headers);
        Assert.Equal("example.com", h.GetHeader("HOST"));
    }

    [Fact]
    public void ObsTextInValuesIsLatin1() =>
        Assert.Equal("caf\u00c3\u00a9", Head(Req("X: caf\u00c3\u00a9\r\n")).GetHeader("x"));

    [Theory]
    [InlineData("X: a\0b", R.InvalidHeaderValue)]
    [InlineData("X: a\rb", R.InvalidHeaderValue)]
    [InlineData("X: a\nb", R.InvalidHeaderValue)]
    [InlineData("X: a\u0007b", R.InvalidHeaderValue)]
    [InlineData("X: a\u007fb", R.InvalidHeaderValue)]
    [InlineData("X: a\u001fb", R.InvalidHeaderValue)]
    [InlineData("X: a\r", R.InvalidHeaderValue)]
    [InlineData("X y: z", R.InvalidHeaderName)]
    [InlineData("X\t: z", R.InvalidHeaderName)]
    [InlineData("X : z", R.InvalidHeaderName)]
    [InlineData("X(: z", R.InvalidHeaderName)]
    [InlineData("X\u00e9: z", R.InvalidHeaderName)]
    [InlineData("X\nY: z", R.InvalidHeaderName)]
    [InlineData(": z", R.MissingHeaderColon)]
    [InlineData("NoColon", R.MissingHeaderColon)]
    public void BadFieldsAreRefused(string field, R reason) => Rejects(Req(field + "\r\n"), reason);

    [Fact]
    public void StripHeaderSpacesAllowsSpaceBeforeColon()
    {
        var o = new HttpParserOptions { StripHeaderSpaces = true };
        Assert.Equal([new("X", "z")], Head(Req("X \t: z\r\n"), o).Headers);
    }

    [Fact]
    public void ObsoleteFoldingIsRefusedByDefault()
    {
        var e = Rejects(Req("X: a\r\n b\r\n"), R.ObsoleteFolding);
        Assert.Equal("ObsoleteFolding", e.GunicornError);
        Rejects(Req("X: a\r\n\tb\r\n"), R.ObsoleteFolding);
    }

    [Fact]
    public void ObsoleteFoldingWhenPermittedJoinsWithOneSpace()
    {
        var o = new HttpParserOptions { PermitObsoleteFolding = true };
        var h = Head(Req("X: a \r\n \t b \r\n\tc\r\nY: d\r\n"), o);
        Assert.Equal([new("X", "a b c"), new("Y", "d")], h.Headers);
    }

    [Fact]
    public void FoldedFieldCountsAllItsLinesAgainstTheSizeLimit()
    {
        var o = new HttpParserOptions { PermitObsoleteFolding = true, LimitRequestFieldSize = 14 };
        Head(Req("Ab: c\r\n def\r\n"), o);                     // 5+2 + 4+2 = 13
        Rejects(Req("Ab: c\r\n defgh\r\n"), R.HeaderFieldTooLarge, o);
        Rejects(Req("Abcdefghijklmnop: c\r\n d\r\n"), R.HeaderFieldTooLarge, o);
    }

    [Fact]
    public void FieldSizeLimitCountsNameValueAndCrlf()
    {
        var o = new HttpParserOptions { LimitRequestFieldSize = 10 };
        Head(Req("Ab: cdef\r\n"), o);      // 8 + 2 = 10
        var e = Rejects(Req("Ab: cdefg\r\n"), R.HeaderFieldTooLarge, o);
        Assert.Equal(431, e.StatusCode);
        Assert.Equal("LimitRequestHeaders", e.GunicornError);
    }

    [Fact]
    public void FieldCountLimit()
    {
        var o = new HttpParserOptions { LimitRequestFields = 3 };
        Head(Req("A: 1\r\nB: 2\r\nC: 3\r\n"), o);
        var e = Rejects(Req("A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"), R.TooManyHeaders, o);
        Assert.Equal(431, e.StatusCode);
    }

    [Fact]
    public void DroppedFieldsStillCountAgainstTheFieldLimit()
    {
        var o = new HttpParserOptions { LimitRequestFields = 2 };
        Rejects(Req("A_1: 1\r\nB_2: 2\r\nC: 3\r\n"), R.TooManyHeaders, o);
    }

    [Theory]
    [InlineData(0, 8190)]
    [InlineData(-5, 8190)]
    [InlineData(20000, 20000)]
    public void FieldSizeLimitFollowsGunicornsRules(int configured, int effective) =>
        Assert.Equal(effective, new HttpParserOptions { LimitRequestFieldSize = configured }.EffectiveLimitRequestFieldSize);

    [Theory]
    [InlineData(0, 32768)]
    [InlineData(40000, 32768)]
    [InlineData(5, 5)]
    public void FieldCountLimitFollowsGunicornsRules(int configured, int effective) =>
        Assert.Equal(effective, new HttpParserOptions { LimitRequestFields = configured }.EffectiveLimitRequestFields);

    [Fact]
    public void HeaderSectionThatNeverEndsIsCutAtGunicornsBufferBound()
    {
        var o = new HttpParserOptions { LimitRequestFields = 2, LimitRequestFieldSize = 20 };
        // max_buffer_headers = 2 * (20 + 2) + 4 = 48 bytes after the request line.
        Assert.Equal(48, o.MaxHeaderSectionBytes);
        var parser = new Http1RequestParser(o);
        Assert.False(TryParse(parser, Bytes("GET / HTTP/1.1\r\n" + new string('a', 47)), new RequestHead(), out _));
        var e = Assert.Throws<BadHttpRequestException>(() =>
            TryParse(parser, Bytes("GET / HTTP/1.1\r\n" + new string('a', 48)), new RequestHead(), out _));
        Assert.Equal(R.HeaderSectionTooLarge, e.Reason);
        Assert.Equal(431, e.StatusCode);
        // The section and its empty line must fit: 44 + 4 = 48 does (and is then parsed), 45 + 4 does not,
        // however the bytes arrive.
        Rejects("GET / HTTP/1.1\r\n" + new string('a', 44) + "\r\n\r\n", R.MissingHeaderColon, o);
        Rejects("GET / HTTP/1.1\r\n" + new string('a', 45) + "\r\n\r\n", R.HeaderSectionTooLarge, o);
    }

    [Theory]
    [InlineData("Host: a\r\nHost: a")]
    [InlineData("Host: a\r\nhost: b")]
    [InlineData("Content-Type: a\r\nContent-Type: a")]
    public void SingletonFieldsMayAppearOnce(string fields) => Rejects(Req(fields + "\r\n"), R.DuplicateSingletonHeader);

    [Fact]
    public void ExpectContinueOnHttp11()
    {
        Assert.True(Head(Req("Expect: 100-Continue\r\n")).ExpectContinue);
        Assert.False(Head("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").ExpectContinue);
        var e = Rejects(Req("Expect: 100-continue-please\r\n"), R.ExpectationFailed);
        Assert.Equal(417, e.StatusCode);
        Assert.Equal("Expectation Failed", e.ReasonPhrase);
    }

    [Fact]
    public void UnderscoreFieldsAreDroppedByDefault()
    {
        var h = Head(Req("X_Forwarded_For: 1.2.3.4\r\nX-Forwarded-For: 5.6.7.8\r\n"));
        Assert.Equal([new("X-Forwarded-For", "5.6.7.8")], h.Headers);
    }

    [Fact]
    public void UnderscoreFieldsRefusedOrKeptByHeaderMap()
    {
        Rejects(Req("A_B: 1\r\n"), R.UnderscoreInHeaderName, new HttpParserOptions { HeaderMap = HeaderMapPolicy.Refuse });
        Assert.Equal([new("A_B", "1")], Head(Req("A_B: 1\r\n"), new HttpParserOptions { HeaderMap = HeaderMapPolicy.Dangerous }).Headers);
    }

    [Fact]
    public void ForwarderHeadersPassOnlyFromTrustedPeers()
    {
        var o = new HttpParserOptions { HeaderMap = HeaderMapPolicy.Refuse, ForwardedAllowIps = IpAllowList.Parse("10.0.0.0/8") };
        var trusted = Head(Req("Script_Name: /app\r\n"), o, IPAddress.Parse("10.1.2.3"), unixPeer: false);
        Assert.Equal([new("Script_Name", "/app")], trusted.Headers);
        Rejects(Req("Script_Name: /app\r\n"), R.UnderscoreInHeaderName, o, IPAddress.Parse("192.168.0.1"), unixPeer: false);
        Rejects(Req("Remote_User: x\r\n"), R.UnderscoreInHeaderName, o, IPAddress.Parse("10.1.2.3"), unixPeer: false);
    }

    [Fact]
    public void SecureSchemeHeadersFromTrustedPeers()
    {
        var o = new HttpParserOptions { ForwardedAllowIps = IpAllowList.Parse("127.0.0.1,::1") };
        var local = IPAddress.Loopback;
        Assert.Equal("https", Head(Req("X-Forwarded-Proto: https\r\n"), o, local, unixPeer: false).ForwardedScheme);
        Assert.Equal("http", Head(Req("X-Forwarded-Proto: HTTPS\r\n"), o, local, unixPeer: false).ForwardedScheme);
        Assert.Equal("https", Head(Req("X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n"), o, local, unixPeer: false).ForwardedScheme);
        Assert.Equal("https", Head(Req("X-Forwarded-Proto: https\r\n"), o, IPAddress.Parse("::ffff:127.0.0.1"), unixPeer: false).ForwardedScheme);
        Assert.Null(Head(Req("X-Forwarded-Proto: https\r\n"), o, IPAddress.Parse("8.8.8.8"), unixPeer: false).ForwardedScheme);
        var e = Rejects(Req("X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n"), R.ConflictingSchemeHeaders, o, local, unixPeer: false);
        Assert.Equal("InvalidSchemeHeaders", e.GunicornError);
    }

    [Fact]
    public void NobodyIsTrustedBeforeStartConnection()
    {
        var parser = new Http1RequestParser(new HttpParserOptions { ForwardedAllowIps = IpAllowList.Parse("*") });
        var head = new RequestHead();
        Assert.True(TryParse(parser, Bytes(Req("X-Forwarded-Proto: https\r\n")), head, out _));
        Assert.Null(head.ForwardedScheme);
    }

    [Fact]
    public void PeerGivenToTheConstructorIsTrusted()
    {
        var o = new HttpParserOptions();
        var head = new RequestHead();
        Assert.True(TryParse(new Http1RequestParser(o, IPAddress.Loopback), Bytes(Req("X-Forwarded-Proto: https\r\n")), head, out _));
        Assert.Equal("https", head.ForwardedScheme);
        Assert.True(TryParse(new Http1RequestParser(o, IPAddress.Parse("192.0.2.1")), Bytes(Req("X-Forwarded-Proto: https\r\n")), head, out _));
        Assert.Null(head.ForwardedScheme);
    }

    [Theory]
    [InlineData("HTTP/1.1", "", true)]
    [InlineData("HTTP/1.0", "", false)]
    [InlineData("HTTP/1.1", "Connection: close\r\n", false)]
    [InlineData("HTTP/1.1", "Connection:  CLOSE \r\n", false)]
    [InlineData("HTTP/1.0", "Connection: keep-alive\r\n", true)]
    [InlineData("HTTP/1.0", "Connection: Keep-Alive\r\nConnection: close\r\n", true)]  // first one counts
    [InlineData("HTTP/1.1", "Connection: upgrade\r\nConnection: close\r\n", true)]
    [InlineData("HTTP/1.1", "Connection: keep-alive, close\r\n", true)]
    public void KeepAliveFollowsGunicornsShouldClose(string version, string fields, bool keepAlive) =>
        Assert.Equal(keepAlive, Head($"GET / {version}\r\n{fields}\r\n").KeepAlive);

    [Fact]
    public void HeadIsResetBetweenRequests()
    {
        var requests = Connection("GET /a HTTP/1.1\r\nA: 1\r\nExpect: 100-continue\r\n\r\nGET /b HTTP/1.1\r\nB: 2\r\n\r\n");
        Assert.Equal(2, requests.Count);
        Assert.Equal([new("B", "2")], requests[1].Headers);
        Assert.False(requests[1].ExpectContinue);
    }
}
