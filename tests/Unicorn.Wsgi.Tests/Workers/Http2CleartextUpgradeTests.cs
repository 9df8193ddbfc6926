using System.Buffers;
using System.Text;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>Which HTTP/1.1 requests h2c by Upgrade takes, what the client must send after 101, and stream 1's frames.</summary>
public sealed class Http2CleartextUpgradeTests
{
    private const string Settings = "AAMAAABkAAQCAAAAAAIAAAAA"; // curl's: three settings, 18 bytes

    private static ReadOnlySequence<byte> Seq(byte[] bytes) => new(bytes);

    private static RequestHead Head(string method = "GET", long? contentLength = null, params (string Name, string Value)[] fields)
    {
        var head = new RequestHead { Method = method, RawTarget = "/p?q=1", Path = "/p", Query = "q=1", VersionMajor = 1, VersionMinor = 1, ContentLength = contentLength };
        foreach (var (name, value) in fields)
        {
            head.Headers.Add(new(name, value));
        }

        return head;
    }

    private static readonly (string, string)[] Upgrade =
    [
        ("Host", "example:80"), ("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"), ("HTTP2-Settings", Settings),
    ];

    [Fact]
    public void A_bodyless_request_with_upgrade_h2c_and_its_settings_is_taken()
    {
        Assert.True(Http2CleartextUpgrade.IsRequested(Head(fields: Upgrade)));
    }

    [Fact]
    public void Requests_the_rfc_lets_the_server_keep_on_http_1_1_are_left_alone()
    {
        Assert.False(Http2CleartextUpgrade.IsRequested(Head("POST", 5, Upgrade)));
        Assert.False(Http2CleartextUpgrade.IsRequested(Head(fields: [.. Upgrade, ("HTTP2-Settings", Settings)])));
        Assert.False(Http2CleartextUpgrade.IsRequested(Head(fields: [("Connection", "Upgrade"), ("Upgrade", "h2c"), ("HTTP2-Settings", Settings)])));
        Assert.False(Http2CleartextUpgrade.IsRequested(Head(fields: [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "websocket"), ("HTTP2-Settings", Settings)])));
        Assert.False(Http2CleartextUpgrade.IsRequested(Head(fields: [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c")])));
        Assert.False(Http2CleartextUpgrade.IsRequested(Head(fields: [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"), ("HTTP2-Settings", "not base64!")])));
        Assert.False(Http2CleartextUpgrade.IsRequested(Head(fields: [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAAB")])));
    }

    [Fact]
    public void After_101_the_client_must_send_the_preface_then_settings()
    {
        var preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
        byte[] settings = [0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100];
        byte[] ping = [0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        Assert.Equal(1, Http2CleartextUpgrade.TryTakeSettings(Seq([.. preface, .. settings, .. ping]), out var taken));
        Assert.Equal(settings, taken);
        Assert.Equal(0, Http2CleartextUpgrade.TryTakeSettings(Seq([.. preface, .. settings[..10]]), out _));
        Assert.Equal(0, Http2CleartextUpgrade.TryTakeSettings(Seq(preface[..5]), out _));
        Assert.Equal(-1, Http2CleartextUpgrade.TryTakeSettings(Seq("GET / HTTP/1.1\r\n"u8.ToArray()), out _));
        Assert.Equal(-1, Http2CleartextUpgrade.TryTakeSettings(Seq([.. preface, .. ping]), out _));
    }

    [Fact]
    public void Stream_1_carries_the_request_without_its_hop_by_hop_fields_split_in_frames_of_16_kib()
    {
        var big = new string('v', 20000);
        var frames = Http2CleartextUpgrade.RequestFrames(Head(fields: [.. Upgrade, ("X-Big", big), ("Keep-Alive", "5"), ("TE", "gzip")]));
        // HEADERS (END_STREAM, no END_HEADERS) of 16384 bytes, then a CONTINUATION with END_HEADERS, both on stream 1.
        Assert.Equal([0x00, 0x40, 0x00, 0x01, 0x01, 0, 0, 0, 1], frames[..9]);
        var second = frames.AsSpan(9 + 16384);
        Assert.Equal(0x09, second[3]);
        Assert.Equal(0x04, second[4]);
        Assert.Equal(1, second[8]);
        var block = Encoding.Latin1.GetString([.. frames.AsSpan(9, 16384), .. second[9..]]);
        Assert.Contains("\0\x07:method\x03GET", block, StringComparison.Ordinal);
        Assert.Contains("\0\x07:scheme\x04http", block, StringComparison.Ordinal);
        Assert.Contains("\0\u000a:authority\u000aexample:80", block, StringComparison.Ordinal);
        Assert.Contains("\0\x05:path\x06/p?q=1", block, StringComparison.Ordinal);
        // 20000 = 127 + 19873: a 7-bit prefix full, then 0xA1 0x9B 0x01.
        Assert.Contains("\0\x05x-big\x7f\xa1\x9b\x01vvv", block, StringComparison.Ordinal);
        foreach (var hop in new[] { "host", "connection", "upgrade", "http2-settings", "keep-alive", "te" })
        {
            Assert.DoesNotContain("\0" + (char)hop.Length + hop, block, StringComparison.Ordinal);
        }
    }
}
