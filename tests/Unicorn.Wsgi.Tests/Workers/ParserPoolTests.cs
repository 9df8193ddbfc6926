using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>Parsers and heads go from one connection to the next, cleared and bounded.</summary>
public sealed class ParserPoolTests
{
    [Fact]
    public void A_returned_pair_is_rented_again_with_its_head_cleared()
    {
        var pool = new ParserPool(HttpParserOptions.Default);
        var (parser, head) = pool.Rent();
        head.Method = "POST";
        head.Headers.Add(new("X-Secret", "1"));
        pool.Return(parser, head);

        var (again, againHead) = pool.Rent();
        Assert.Same(parser, again);
        Assert.Same(head, againHead);
        Assert.Equal("", againHead.Method);
        Assert.Empty(againHead.Headers);
        Assert.NotSame(again, pool.Rent().Parser);
    }

    [Fact]
    public void It_keeps_no_more_than_its_capacity()
    {
        var pool = new ParserPool(HttpParserOptions.Default);
        var rented = Enumerable.Range(0, ParserPool.Capacity + 10).Select(_ => pool.Rent()).ToList();
        foreach (var (parser, head) in rented)
        {
            pool.Return(parser, head);
        }

        var again = Enumerable.Range(0, ParserPool.Capacity + 10).Select(_ => pool.Rent().Parser).ToList();
        Assert.Equal(ParserPool.Capacity, again.Count(p => rented.Any(r => ReferenceEquals(r.Parser, p))));
    }

    [Fact]
    public async Task A_connection_sees_none_of_the_previous_connections_headers()
    {
        static void EchoHeaders(WsgiRequest req, IResponseSink resp)
        {
            var text = string.Join(",", req.Headers.Select(h => h.Key));
            resp.SetResponse("200 OK", [new("Content-Length", text.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
            resp.Write(System.Text.Encoding.ASCII.GetBytes(text));
        }

        await using var h = new WorkerHarness(EchoHeaders);
        var first = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nX-First: 1\r\nConnection: close\r\n\r\n");
        Assert.EndsWith("\r\n\r\nHost,X-First,Connection", first, StringComparison.Ordinal);
        var second = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: y\r\nConnection: close\r\n\r\n");
        Assert.EndsWith("\r\n\r\nHost,Connection", second, StringComparison.Ordinal);
    }
}
