using System.Buffers;
using System.Net;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Http;
using static Unicorn.Wsgi.Tests.Http.Harness;
using R = Unicorn.Wsgi.Http.RequestRejectionReason;

namespace Unicorn.Wsgi.Tests.Connections;

public class ProxyHeaderParserTests
{
    private static readonly byte[] V2Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private static (bool Done, ProxyInfo? Info, long Consumed) Try(byte[] bytes, ProxyProtocolMode mode, IPAddress? peer = null, string allow = "127.0.0.1,::1")
    {
        var parser = new ProxyHeaderParser(mode, IpAllowList.Parse(allow));
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        var done = parser.TryParse(ref reader, peer, out var info);
        return (done, info, reader.Consumed);
    }

    private static R Fails(byte[] bytes, ProxyProtocolMode mode = ProxyProtocolMode.Auto, IPAddress? peer = null, string allow = "127.0.0.1,::1")
    {
        try
        {
            Try(bytes, mode, peer, allow);
        }
        catch (BadHttpRequestException e)
        {
            return e.Reason;
        }
        throw new Xunit.Sdk.XunitException("no rejection");
    }

    private static byte[] V2(byte verCmd, byte famProto, byte[] addresses) =>
        [.. V2Signature, verCmd, famProto, (byte)(addresses.Length >> 8), (byte)addresses.Length, .. addresses];

    [Fact]
    public void V1Tcp4()
    {
        var (done, info, consumed) = Try(Bytes("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /"), ProxyProtocolMode.V1);
        Assert.True(done);
        Assert.Equal(new ProxyInfo("TCP4", "192.168.0.1", 56324, "192.168.0.11", 443), info);
        Assert.Equal(47, consumed);
    }

    [Fact]
    public void V1Tcp6() =>
        Assert.Equal(new ProxyInfo("TCP6", "2001:db8::1", 1, "::1", 65535),
            Try(Bytes("PROXY TCP6 2001:db8::1 ::1 1 65535\r\n"), ProxyProtocolMode.Auto).Info);

    [Theory]
    [InlineData("PROXY UNKNOWN\r\nGET /", 15)]
    [InlineData("PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\nGET /", 35)]
    public void V1Unknown(string data, int consumed)
    {
        var (done, info, used) = Try(Bytes(data), ProxyProtocolMode.V1);
        Assert.True(done);
        Assert.Equal(new ProxyInfo("UNKNOWN", null, null, null, null), info);
        Assert.Equal(consumed, used);
    }

    [Theory]
    [InlineData("PROXY UNKNOWNX\r\n")]
    [InlineData("PROXY  UNKNOWN\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n")]
    [InlineData("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY TCP4 ::1 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY TCP6 1.2.3.4 ::1 1 2\r\n")]
    [InlineData("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1_0 2\r\n")]
    public void BadV1Lines(string line) => Assert.Equal(R.InvalidProxyLine, Fails(Bytes(line)));

    [Fact]
    public void V1LineIsBoundedTo107Bytes()
    {
        Assert.Equal(R.InvalidProxyLine, Fails(Bytes("PROXY TCP4 " + new string('1', 100))));
        Assert.False(Try(Bytes("PROXY TCP4 " + new string('1', 90)), ProxyProtocolMode.V1).Done);
    }

    [Fact]
    public void V2Tcp4()
    {
        byte[] data = [.. V2(0x21, 0x11, [192, 168, 1, 10, 192, 168, 1, 1, 0x30, 0x39, 0x01, 0xBB]), .. Bytes("GET")];
        var (done, info, consumed) = Try(data, ProxyProtocolMode.V2);
        Assert.True(done);
        Assert.Equal(new ProxyInfo("TCP4", "192.168.1.10", 12345, "192.168.1.1", 443), info);
        Assert.Equal(data.Length - 3, consumed);
    }

    [Fact]
    public void V2Tcp6WithExtraTlvBytes()
    {
        var address = new byte[36 + 5];
        address[15] = 1;            // ::1
        address[16] = 0x20; address[17] = 0x01; address[31] = 2;   // 2001::2
        address[32] = 0; address[33] = 80; address[34] = 1; address[35] = 0;
        var info = Try(V2(0x21, 0x21, address), ProxyProtocolMode.Auto).Info;
        Assert.Equal(new ProxyInfo("TCP6", "::1", 80, "2001::2", 256), info);
    }

    [Fact]
    public void V2LocalAndUnspec()
    {
        Assert.Equal("LOCAL", Try(V2(0x20, 0x00, []), ProxyProtocolMode.V2).Info!.Protocol);
        Assert.Equal("UNSPEC", Try(V2(0x21, 0x01, []), ProxyProtocolMode.V2).Info!.Protocol);
    }

    [Theory]
    [InlineData(0x11, 0x11)]   // version 1
    [InlineData(0x22, 0x11)]   // command 2
    [InlineData(0x21, 0x12)]   // UDP
    [InlineData(0x21, 0x31)]   // AF_UNIX
    [InlineData(0x21, 0x21)]   // IPv6 with too few bytes
    public void BadV2Headers(int verCmd, int famProto) =>
        Assert.Equal(R.InvalidProxyHeader, Fails(V2((byte)verCmd, (byte)famProto, new byte[12])));

    [Fact]
    public void WaitsForTheWholeV2Header()
    {
        var full = V2(0x21, 0x11, new byte[12]);
        for (var i = 1; i < full.Length; i++)
        {
            Assert.False(Try(full[..i], ProxyProtocolMode.Auto).Done);
        }
        Assert.True(Try(full, ProxyProtocolMode.Auto).Done);
    }

    [Fact]
    public void NoHeaderLeavesTheBytesForTheRequest()
    {
        var (done, info, consumed) = Try(Bytes("GET / HTTP/1.1\r\n\r\n"), ProxyProtocolMode.Auto);
        Assert.True(done);
        Assert.Null(info);
        Assert.Equal(0, consumed);
        Assert.True(Try(Bytes("P"), ProxyProtocolMode.V2).Done);          // cannot be a v2 signature
        Assert.False(Try(Bytes("PROX"), ProxyProtocolMode.V1).Done);
        Assert.True(Try(Bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), ProxyProtocolMode.V2).Info is null);   // v1 not enabled
        Assert.True(Try(Bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), ProxyProtocolMode.Off).Info is null);
    }

    [Fact]
    public void PeerMustBeInProxyAllowIps()
    {
        var line = Bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
        Assert.Equal(R.ForbiddenProxyRequest, Fails(line, peer: IPAddress.Parse("10.0.0.1")));
        Assert.NotNull(Try(line, ProxyProtocolMode.Auto, IPAddress.Parse("10.0.0.1"), "10.0.0.0/8").Info);
        Assert.NotNull(Try(line, ProxyProtocolMode.Auto, IPAddress.Parse("10.0.0.1"), "*").Info);
        var e = Assert.Throws<BadHttpRequestException>(() => Try(line, ProxyProtocolMode.Auto, IPAddress.Parse("10.0.0.1")));
        Assert.Equal(403, e.StatusCode);
    }
}
