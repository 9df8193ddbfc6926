using System.Text;
using CsCheck;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>
/// Differential property: any byte stream gives the same requests, or the same rejection, whether it
/// arrives all at once, byte by byte or in random pieces. Streams are built from fragments of HTTP so they
/// reach deep into the parser, with random bytes mixed in.
/// </summary>
public class ChunkingInvarianceTests
{
    private static readonly string[] Lines =
    [
        "GET / HTTP/1.1\r\n", "POST /x?y#z HTTP/1.0\r\n", "POST /u HTTP/1.1\r\n", "OPTIONS * HTTP/1.1\r\n",
        "CONNECT a:1 HTTP/1.1\r\n", "GET http://h:8/p HTTP/1.1\r\n", "get //a HTTP/1.1\r\n", "GET / HTTP/1.1",
    ];

    private static readonly string[] Fields =
    [
        "Host: a\r\n", "Content-Length: 5\r\n", "Content-Length: 0\r\n", "Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding: gzip, chunked\r\n", "Connection: close\r\n", "Connection: keep-alive\r\n",
        "X: \t y \r\n", " folded\r\n", "Expect: 100-continue\r\n", "A_B: 1\r\n", "X-Forwarded-Proto: https\r\n",
        "X-Forwarded-Ssl: off\r\n", "Long-Field-Name: value\r\n", "X:\r\n",
    ];

    private static readonly string[] BodyParts =
    [
        "5\r\nhello\r\n", "3;e=\"q\"\r\nabc\r\n", "0\r\n", "0\r\n\r\n", "T: 1\r\n", "hello", "\r\n", "\r", "\n",
        ";", "ff\r\n", "1\r\nx\r\n",
    ];

    private static Gen<byte[]> Pick(string[] choices) =>
        Gen.Int[0, choices.Length - 1].Select(i => Encoding.Latin1.GetBytes(choices[i]));

    private static Gen<byte[]> Join(Gen<byte[][]> parts) => parts.Select(p => p.SelectMany(b => b).ToArray());

    // Noise: occasionally a random byte sequence instead of a well-formed piece.
    private static Gen<byte[]> Noisy(Gen<byte[]> piece) => Gen.Frequency((12, piece), (1, Gen.Byte.Array[1, 3]));

    private static readonly Gen<byte[]> Request = Gen.Select(
        Noisy(Pick(Lines)), Join(Noisy(Pick(Fields)).Array[0, 6]), Gen.Frequency((5, Gen.Const("\r\n"u8.ToArray())), (1, Gen.Const(Array.Empty<byte>()))),
        Join(Noisy(Pick(BodyParts)).Array[0, 5]),
        (line, fields, end, body) => (byte[])[.. line, .. fields, .. end, .. body]);

    private static readonly Gen<byte[]> Stream = Gen.Select(
        Gen.Frequency((4, Gen.Const(Array.Empty<byte>())), (1, Gen.Const("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"u8.ToArray()))),
        Join(Request.Array[1, 3]),
        (proxy, requests) => (byte[])[.. proxy, .. requests]);

    private static readonly Gen<HttpParserOptions> Options = Gen.Select(Gen.Bool, Gen.Bool, Gen.Int[0, 3], Gen.Bool, (fold, proxy, limits, casefold) =>
        new HttpParserOptions
        {
            PermitObsoleteFolding = fold,
            ProxyProtocol = proxy ? ProxyProtocolMode.Auto : ProxyProtocolMode.Off,
            LimitRequestLine = limits == 1 ? 20 : 4094,
            LimitRequestFieldSize = limits == 2 ? 12 : 8190,
            LimitRequestFields = limits == 3 ? 2 : 100,
            PermitUnconventionalHttpMethod = casefold,
            CasefoldHttpMethod = casefold,
            ForwardedAllowIps = IpAllowList.Parse("*"),
        });

    internal static string Outcome(HttpParserOptions options, IEnumerable<ReadOnlyMemory<byte>> pieces, Func<int> readSize)
    {
        try
        {
            return string.Join("\n", ConnectionSimulator.Run(options, pieces, readSize).Select(Harness.Describe));
        }
        catch (BadHttpRequestException e)
        {
            return "rejected: " + e.Reason;
        }
    }

    [Fact]
    public void SameOutcomeInEveryChunking()
    {
        Gen.Select(Stream, Options, Gen.Int).Sample((data, options, seed) =>
        {
            var whole = Outcome(options, [data], () => 1 << 16);
            var bytes = Outcome(options, RequestVectorCheck.Split(data, "bytes"), () => 1);
            Assert.Equal(whole, bytes);
            var rng = new Random(seed);
            var pieces = new List<ReadOnlyMemory<byte>>();
            for (var i = 0; i < data.Length;)
            {
                var n = Math.Min(data.Length - i, rng.Next(1, 16));
                pieces.Add(data.AsMemory(i, n));
                i += n;
            }
            Assert.Equal(whole, Outcome(options, pieces, () => rng.Next(1, 8)));
        }, iter: 2000);
    }
}
