using System.Buffers;
using System.Text;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Http;
using static Unicorn.Wsgi.Tests.Http.Harness;
using R = Unicorn.Wsgi.Http.RequestRejectionReason;

namespace Unicorn.Wsgi.Tests.Http;

public class ChunkedBodyDecoderTests
{
    /// <summary>Decodes all of <paramref name="wire"/> at once; returns the body and what is left over.</summary>
    private static (string Body, string Leftover, ChunkedBodyDecoder Decoder) Decode(string wire, HttpParserOptions? options = null)
    {
        var decoder = new ChunkedBodyDecoder(options ?? HttpParserOptions.Default);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes(wire)));
        var output = new byte[wire.Length];
        var n = 0;
        while (true)
        {
            var w = decoder.Decode(ref reader, output.AsSpan(n));
            n += w;
            if (w == 0)
            {
                break;
            }
        }
        return (Encoding.Latin1.GetString(output, 0, n), Encoding.Latin1.GetString(reader.UnreadSequence.ToArray()), decoder);
    }

    private static BadHttpRequestException Fails(string wire, R reason, HttpParserOptions? options = null)
    {
        var e = Assert.Throws<BadHttpRequestException>(() =>
        {
            var (_, _, d) = Decode(wire, options);
            d.OnEndOfInput();
        });
        Assert.Equal(reason, e.Reason);
        return e;
    }

    [Fact]
    public void DecodesChunksAndStopsAfterTheFinalCrlf()
    {
        var (body, rest, d) = Decode("5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\nNEXT");
        Assert.Equal("hello world", body);
        Assert.Equal("NEXT", rest);
        Assert.True(d.IsComplete);
        Assert.Empty(d.Trailers);
    }

    [Fact]
    public void DecodesTrailers()
    {
        var (body, rest, d) = Decode("3\r\nabc\r\n0\r\nX-Sum: 1\r\nx-other: two words\r\n\r\n");
        Assert.Equal("abc", body);
        Assert.Equal("", rest);
        Assert.Equal([new("X-Sum", "1"), new("x-other", "two words")], d.Trailers);
    }

    [Theory]
    [InlineData("a\r\n0123456789\r\n0\r\n\r\n", "0123456789")]
    [InlineData("A\r\n0123456789\r\n0\r\n\r\n", "0123456789")]
    [InlineData("0003\r\nabc\r\n000\r\n\r\n", "abc")]
    [InlineData("3 ;x\r\nabc\r\n0\r\n\r\n", "abc")]
    [InlineData("3\t; x=\"a b\"\r\nabc\r\n0\r\n\r\n", "abc")]
    [InlineData("00000000000000000003\r\nabc\r\n0\r\n\r\n", "abc")]   // leading zeros do not count
    public void ChunkSizeForms(string wire, string body) => Assert.Equal(body, Decode(wire).Body);

    [Theory]
    [InlineData("-3\r\nabc\r\n0\r\n\r\n", R.InvalidChunkSize)]
    [InlineData("+3\r\nabc\r\n0\r\n\r\n", R.InvalidChunkSize)]
    [InlineData("0x3\r\nabc\r\n0\r\n\r\n", R.InvalidChunkSize)]
    [InlineData(" 3\r\nabc\r\n0\r\n\r\n", R.InvalidChunkSize)]
    [InlineData("3 \r\nabc\r\n0\r\n\r\n", R.InvalidChunkSize)]
    [InlineData("\r\nabc\r\n0\r\n\r\n", R.InvalidChunkSize)]
    [InlineData(";x\r\nabc\r\n0\r\n\r\n", R.InvalidChunkSize)]
    [InlineData("3_0\r\nabc\r\n0\r\n\r\n", R.InvalidChunkSize)]
    [InlineData("3\n\r\nabc\r\n0\r\n\r\n", R.InvalidChunkSize)]
    [InlineData("1000000000000000\r\n", R.ChunkSizeOverflow)]       // 16 significant hex digits
    [InlineData("ffffffffffffffffff\r\n", R.ChunkSizeOverflow)]
    [InlineData("3;a\rb\r\nabc\r\n0\r\n\r\n", R.InvalidChunkExtension)]
    [InlineData("3;a\nb\r\nabc\r\n0\r\n\r\n", R.InvalidChunkExtension)]
    [InlineData("3;a\0b\r\nabc\r\n0\r\n\r\n", R.InvalidChunkExtension)]
    [InlineData("3\r\nabcd\r\n0\r\n\r\n", R.ChunkMissingTerminator)]
    [InlineData("3\r\nabc\n0\r\n\r\n", R.ChunkMissingTerminator)]
    [InlineData("3\r\nabc\r\r\n", R.ChunkMissingTerminator)]
    public void BadFramingIsRefused(string wire, R reason) => Fails(wire, reason);

    [Theory]
    [InlineData("0\r\nHost: x\r\n\r\n")]
    [InlineData("0\r\nContent-Length: 1\r\n\r\n")]
    [InlineData("0\r\ntransfer-encoding: chunked\r\n\r\n")]
    [InlineData("0\r\nTrailer: x\r\n\r\n")]
    [InlineData("0\r\nAuthorization: x\r\n\r\n")]
    [InlineData("0\r\nTE: trailers\r\n\r\n")]
    public void ForbiddenTrailerFieldsAreRefused(string wire)
    {
        var e = Fails(wire, R.ForbiddenTrailerField);
        Assert.Equal("InvalidHeaderName", e.GunicornError);
        // Named in capitals, as Gunicorn names a field once it is known to be a token.
        Assert.Matches("^Invalid HTTP header name: '[-A-Z]+'$", e.Message);
    }

    [Theory]
    [InlineData("0\r\nX: a\0b\r\n\r\n", R.InvalidHeaderValue)]
    [InlineData("0\r\nX y: 1\r\n\r\n", R.InvalidHeaderName)]
    [InlineData("0\r\nX: 1\r\n 2\r\n\r\n", R.ObsoleteFolding)]
    [InlineData("0\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n", R.DuplicateSingletonHeader)]
    public void TrailersFollowTheFieldRules(string wire, R reason) => Fails(wire, reason);

    [Fact]
    public void UnderscoreTrailersFollowHeaderMap()
    {
        Assert.Empty(Decode("0\r\nA_B: 1\r\n\r\n").Decoder.Trailers);
        Fails("0\r\nA_B: 1\r\n\r\n", R.UnderscoreInHeaderName, new HttpParserOptions { HeaderMap = HeaderMapPolicy.Refuse });
    }

    [Fact]
    public void TrailerSectionIsBounded()
    {
        var o = new HttpParserOptions { LimitRequestFields = 1, LimitRequestFieldSize = 10 };
        Fails("0\r\nA: 1\r\nB: 2\r\n\r\n", R.TooManyHeaders, o);
        Fails("0\r\n" + new string('a', 100), R.HeaderSectionTooLarge, o);
    }

    [Theory]
    [InlineData("", R.UnexpectedEndOfInput)]
    [InlineData("5", R.UnexpectedEndOfInput)]
    [InlineData("5\r\nhel", R.UnexpectedEndOfInput)]
    [InlineData("5\r\nhello", R.ChunkMissingTerminator)]
    [InlineData("5\r\nhello\r", R.ChunkMissingTerminator)]
    [InlineData("0\r\n", R.ChunkMissingTerminator)]
    [InlineData("0\r\nX: 1\r\n", R.ChunkMissingTerminator)]
    public void EndOfInputMidBody(string wire, R reason) => Fails(wire, reason);

    [Fact]
    public void ChunkLineIsBounded()
    {
        Fails("1;" + new string('x', ChunkedBodyDecoder.MaxChunkLine + 10), R.InvalidChunkExtension);
        Fails(new string('0', ChunkedBodyDecoder.MaxChunkLine + 10), R.InvalidChunkSize);
        Assert.Equal("a", Decode("1;" + new string('x', ChunkedBodyDecoder.MaxChunkLine - 2) + "\r\na\r\n0\r\n\r\n").Body);
    }

    [Fact]
    public void SmallDestinationsTakeTheBodyPieceByPiece()
    {
        var decoder = new ChunkedBodyDecoder(HttpParserOptions.Default);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes("5\r\nhello\r\n0\r\n\r\n")));
        var one = new byte[2];
        var got = new StringBuilder();
        int n;
        while ((n = decoder.Decode(ref reader, one)) > 0)
        {
            got.Append(Encoding.Latin1.GetString(one, 0, n));
        }
        Assert.Equal("hello", got.ToString());
        Assert.True(decoder.IsComplete);
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void PartialFramingIsLeftInTheReader()
    {
        var decoder = new ChunkedBodyDecoder(HttpParserOptions.Default);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes("5\r\nhe")));
        var buffer = new byte[10];
        Assert.Equal(2, decoder.Decode(ref reader, buffer));
        Assert.Equal(0, reader.Remaining);
        var reader2 = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes("llo\r\n1")));
        Assert.Equal(3, decoder.Decode(ref reader2, buffer));
        Assert.Equal(1, reader2.Remaining);   // "1" waits for its CRLF
        Assert.False(decoder.IsComplete);
    }

    [Fact]
    public void ResetDecodesAnotherBody()
    {
        var (_, _, d) = Decode("1\r\na\r\n0\r\nX: 1\r\n\r\n");
        d.Reset();
        Assert.False(d.IsComplete);
        Assert.Empty(d.Trailers);
    }
}
