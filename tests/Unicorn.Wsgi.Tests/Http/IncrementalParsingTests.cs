using Unicorn.Wsgi.Http;
using static Unicorn.Wsgi.Tests.Http.Harness;

namespace Unicorn.Wsgi.Tests.Http;

public class IncrementalParsingTests
{
    [Fact]
    public void LargeHeadArrivingByteByByteParses()
    {
        var fields = string.Concat(Enumerable.Range(0, 90).Select(i => $"X-Field-{i}: {new string('v', 80)}\r\n"));
        var bytes = Bytes($"GET / HTTP/1.1\r\n{fields}\r\n");
        var parser = new Http1RequestParser(HttpParserOptions.Default);
        var head = new RequestHead();
        for (var i = 1; i < bytes.Length; i++)
        {
            Assert.False(TryParse(parser, bytes[..i], head, out var consumed));
            Assert.Equal(0, consumed);
        }
        Assert.True(TryParse(parser, bytes, head, out _));
        Assert.Equal(90, head.Headers.Count);
    }

    [Fact]
    public void ShorterBufferAfterFalseStartsOver()
    {
        var parser = new Http1RequestParser(HttpParserOptions.Default);
        var head = new RequestHead();
        Assert.False(TryParse(parser, Bytes("GET /first HTTP/1.1\r\nHost: a\r\n"), head, out _));
        Assert.True(TryParse(parser, Bytes("GET /b HTTP/1.1\r\n\r\n"), head, out _));
        Assert.Equal("/b", head.Path);
    }

    [Fact]
    public void StartConnectionForgetsAnUnfinishedHead()
    {
        var parser = new Http1RequestParser(HttpParserOptions.Default);
        var head = new RequestHead();
        Assert.False(TryParse(parser, Bytes("GET /a-long-target HTTP/1.1\r\nHost: a\r\nX: 1"), head, out _));
        parser.StartConnection(null);
        Assert.True(TryParse(parser, Bytes("PUT /a-long-target-two HTTP/1.1\r\nHost: a\r\nX: 12\r\n\r\n"), head, out _));
        Assert.Equal(("PUT", "/a-long-target-two"), (head.Method, head.Path));
    }
}
