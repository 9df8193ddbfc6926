using Unicorn.Wsgi.Http;
using static Unicorn.Wsgi.Tests.Http.Harness;

namespace Unicorn.Wsgi.Tests.Http;

public class AllocationTests
{
    [Fact]
    public void HappyPathAllocatesOnlyTheStringsTheRequestNeeds()
    {
        var bytes = Bytes("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: x-test-agent/1.0\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n");
        var parser = new Http1RequestParser(HttpParserOptions.Default);
        parser.StartConnection(null);
        var head = new RequestHead();
        for (var i = 0; i < 100; i++)
        {
            Assert.True(TryParse(parser, bytes, head, out _));
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(TryParse(parser, bytes, head, out _));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // Everything here is a cached string except the User-Agent value: one string of 16 chars.
        Assert.InRange(allocated, 1, 80);
        Assert.Equal("x-test-agent/1.0", head.GetHeader("user-agent"));
    }
}
