using System.Globalization;
using System.Text;
using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// With <c>--proxy-protocol</c>, Gunicorn 26.1 puts what the PROXY header said in environ: PROXY_PROTOCOL,
/// PROXY_ADDR and PROXY_PORT beside the client's REMOTE_ADDR/REMOTE_PORT; a connection without the header
/// adds none of them.
/// </summary>
public class ProxyEnvironTests
{
    private static void Echo(WsgiRequest request, IResponseSink response)
    {
        var extra = string.Join(" ", (request.ExtraEnviron ?? []).Select(p => $"{p.Key}={p.Value}"));
        var body = Encoding.ASCII.GetBytes($"remote={request.RemoteEndPoint} {extra}".TrimEnd());
        response.SetResponse("200 OK", [new("Content-Length", body.Length.ToString(CultureInfo.InvariantCulture))]);
        response.Write(body);
    }

    [Fact]
    public async Task The_proxy_headers_protocol_and_addresses_reach_environ()
    {
        await using var h = new WorkerHarness(Echo, s => s.Set("proxy_protocol", "v1"));
        Assert.EndsWith("remote=203.0.113.5:56324 PROXY_PROTOCOL=TCP4 PROXY_ADDR=10.0.0.1 PROXY_PORT=443",
            await h.ExchangeAsync("PROXY TCP4 203.0.113.5 10.0.0.1 56324 443\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
            StringComparison.Ordinal);
        Assert.EndsWith("remote=[2001:db8::1]:1000 PROXY_PROTOCOL=TCP6 PROXY_ADDR=2001:db8::2 PROXY_PORT=443",
            await h.ExchangeAsync("PROXY TCP6 2001:db8::1 2001:db8::2 1000 443\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_v1_UNKNOWN_line_keeps_the_connections_own_address()
    {
        // The PROXY spec's line for a connection the proxy cannot describe (HAProxy sends it for a unix-socket
        // client, or a health check): served with the real peer, as Gunicorn 26.1's asgi worker does, not 400.
        await using var h = new WorkerHarness(Echo, s => s.Set("proxy_protocol", "v1"));
        Assert.Matches(@"remote=127\.0\.0\.1:\d+ PROXY_PROTOCOL=UNKNOWN$",
            await h.ExchangeAsync("PROXY UNKNOWN\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
        // Whatever follows UNKNOWN up to the CRLF is ignored, as the spec asks.
        Assert.Matches(@"remote=127\.0\.0\.1:\d+ PROXY_PROTOCOL=UNKNOWN$",
            await h.ExchangeAsync("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
    }

    [Fact]
    public async Task A_connection_without_the_header_adds_nothing()
    {
        await using var h = new WorkerHarness(Echo, s => s.Set("proxy_protocol", "v1"));
        var response = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        Assert.Matches(@"remote=127\.0\.0\.1:\d+$", response);
    }
}
