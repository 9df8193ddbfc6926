using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Connections;

/// <summary>What one stage leaves for the next on a connection, without sockets in between.</summary>
public sealed class ConnectionContextTests : IDisposable
{
    private readonly Socket _listening = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public ConnectionContextTests() => _listening.Bind(new IPEndPoint(IPAddress.Loopback, 0));

    private ConnectionContext Connection(string bytes, IPEndPoint? remote) =>
        new(new MemoryStream(Encoding.Latin1.GetBytes(bytes)), new ListenerInfo(_listening), remote, forwardedTrusted: false, new IdleConnections());

    [Fact]
    public async Task Bytes_read_past_a_proxy_header_reach_the_tls_handshake_in_order()
    {
        // The ClientHello usually arrives in the PROXY header's packet: the pipe holds it, and TLS must see it first.
        await using var connection = Connection("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\nHELLO and the rest", new IPEndPoint(IPAddress.Loopback, 5));
        var stage = new ProxyProtocolStage(new ProxyHeaderParser(ProxyProtocolMode.V1, IpAllowList.Loopback), TimeSpan.FromSeconds(5));

        Assert.True(await stage.RunAsync(connection));
        Assert.Equal(new ProxyInfo("TCP4", "192.0.2.1", 1, "192.0.2.2", 2), connection.Proxy);
        Assert.True(connection.InFrame); // the first request head shares the header's timeout

        using var reader = new StreamReader(connection.TakeTransportForTls(), Encoding.Latin1);
        var buffer = new char[3];
        Assert.Equal(3, await reader.ReadAsync(buffer));
        Assert.Equal("HEL", new string(buffer));
        Assert.Equal("LO and the rest", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task A_connection_that_ends_without_a_byte_ends_the_stage_quietly()
    {
        await using var connection = Connection("", remote: null);
        var stage = new ProxyProtocolStage(new ProxyHeaderParser(ProxyProtocolMode.Auto, IpAllowList.Loopback), TimeSpan.FromSeconds(5));
        Assert.False(await stage.RunAsync(connection));
        Assert.Null(connection.Proxy);
    }

    [Fact]
    public async Task A_header_cut_short_is_an_unexpected_end_not_an_answer()
    {
        await using var connection = Connection("PROXY TCP4 192.0.2.1", remote: null);
        var stage = new ProxyProtocolStage(new ProxyHeaderParser(ProxyProtocolMode.V1, IpAllowList.Loopback), TimeSpan.FromSeconds(5));
        var e = await Assert.ThrowsAsync<BadHttpRequestException>(async () => await stage.RunAsync(connection));
        Assert.True(e.IsEndOfInput);
    }

    [Fact]
    public async Task Tls_starts_the_head_timeout_afresh_and_records_alpn()
    {
        await using var connection = Connection("PROXY", remote: null);
        Assert.NotNull(await connection.ReadFrameAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)));
        Assert.True(connection.InFrame);
        connection.UseTls(new MemoryStream(), [new("SSL_CLIENT_VERIFY", "SUCCESS")], "http/1.1");
        Assert.False(connection.InFrame);
        Assert.Equal("http/1.1", connection.ApplicationProtocol);
        Assert.NotNull(connection.TlsEnviron);
    }

    public void Dispose() => _listening.Dispose();
}
