using System.Buffers;
using System.Net;
using System.Text;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>Small helpers: parse a request given as text (latin-1), all at once and byte by byte.</summary>
internal static class Harness
{
    public static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>Parses one head from the whole buffer; asserts it is complete and that byte-by-byte agrees.</summary>
    public static RequestHead Head(string raw, HttpParserOptions? options = null, IPAddress? peer = null, bool unixPeer = true)
    {
        options ??= HttpParserOptions.Default;
        var head = ParseOnce(Bytes(raw), options, peer, unixPeer, out var consumed);
        Assert.NotNull(head);
        var byByte = ConnectionSimulatorHead(Bytes(raw), options, peer, unixPeer);
        Assert.Equal(Describe(head!), Describe(byByte));
        Assert.True(consumed <= raw.Length);
        return head!;
    }

    /// <summary>Asserts the request is refused with <paramref name="reason"/>, all at once and byte by byte.</summary>
    public static BadHttpRequestException Rejects(string raw, RequestRejectionReason reason, HttpParserOptions? options = null,
        IPAddress? peer = null, bool unixPeer = true)
    {
        options ??= HttpParserOptions.Default;
        var bytes = Bytes(raw);
        var whole = Assert.Throws<BadHttpRequestException>(() => RunAll(bytes, options, peer, unixPeer, wholeFirst: true));
        Assert.Equal(reason, whole.Reason);
        var split = Assert.Throws<BadHttpRequestException>(() => RunAll(bytes, options, peer, unixPeer, wholeFirst: false));
        Assert.Equal(reason, split.Reason);
        return whole;
    }

    /// <summary>Runs a whole connection (heads, bodies, pipelining) and returns what was parsed.</summary>
    public static List<ParsedRequest> Connection(string raw, HttpParserOptions? options = null)
    {
        options ??= HttpParserOptions.Default;
        var all = ConnectionSimulator.Run(options, [Bytes(raw)], () => 1 << 16);
        var byByte = ConnectionSimulator.Run(options, RequestVectorCheck.Split(Bytes(raw), "bytes"), () => 3);
        Assert.Equal(all.Select(Describe), byByte.Select(Describe));
        return all;
    }

    /// <summary>One TryParseHead call over <paramref name="bytes"/> in one segment.</summary>
    public static bool TryParse(Http1RequestParser parser, byte[] bytes, RequestHead head, out long consumed)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        var ok = parser.TryParseHead(ref reader, head);
        consumed = reader.Consumed;
        return ok;
    }

    private static void RunAll(byte[] bytes, HttpParserOptions options, IPAddress? peer, bool unixPeer, bool wholeFirst)
    {
        var sim = new ConnectionSimulator(options, () => 7, unixPeer ? null : peer, !unixPeer);
        if (wholeFirst)
        {
            sim.Receive(bytes);
        }
        else
        {
            foreach (var b in bytes)
            {
                sim.Receive([b]);
            }
        }
        sim.EndOfInput();
    }

    private static RequestHead? ParseOnce(byte[] bytes, HttpParserOptions options, IPAddress? peer, bool unixPeer, out long consumed)
    {
        var parser = new Http1RequestParser(options);
        parser.StartConnection(unixPeer ? null : peer);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        var head = new RequestHead();
        var ok = parser.TryParseHead(ref reader, head);
        consumed = reader.Consumed;
        return ok ? head : null;
    }

    private static RequestHead ConnectionSimulatorHead(byte[] bytes, HttpParserOptions options, IPAddress? peer, bool unixPeer)
    {
        var parser = new Http1RequestParser(options);
        parser.StartConnection(unixPeer ? null : peer);
        var head = new RequestHead();
        for (var i = 1; i <= bytes.Length; i++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes, 0, i));
            if (parser.TryParseHead(ref reader, head))
            {
                return head;
            }
            Assert.Equal(0, reader.Consumed);
        }
        throw new Xunit.Sdk.XunitException("head incomplete byte by byte");
    }

    public static string Describe(RequestHead h) =>
        $"{h.Method}|{h.RawTarget}|{h.Path}|{h.Query}|{h.Fragment}|{h.Scheme}|{h.Host}|{h.Port}|{h.Protocol}|" +
        $"{string.Join(";", h.Headers.Select(kv => kv.Key + "=" + kv.Value))}|{h.ContentLength}|{h.IsChunked}|{h.KeepAlive}|{h.ExpectContinue}|{h.ForwardedScheme}";

    public static string Describe(ParsedRequest r) =>
        $"{r.Method}|{r.RawTarget}|{r.Path}|{r.Major}.{r.Minor}|{string.Join(";", r.Headers.Select(kv => kv.Key + "=" + kv.Value))}|" +
        $"{Convert.ToHexString(r.Body)}|{string.Join(";", r.Trailers.Select(kv => kv.Key + "=" + kv.Value))}|{r.KeepAlive}|{r.Proxy}";
}
