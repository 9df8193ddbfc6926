using System.Buffers;
using System.Text;
using CsCheck;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>Encode random bodies with random chunking, decode them in random pieces: the body comes back.</summary>
public class ChunkedPropertyTests
{
    private static readonly string[] Extensions = ["", ";a", "; name=value", ";q=\"quoted; value\"", " \t;x", ";a=1;b=2"];

    /// <summary>A random chunked encoding of <paramref name="body"/>, its trailers, and a pipelined tail.</summary>
    internal static (byte[] Wire, List<KeyValuePair<string, string>> Trailers) Encode(byte[] body, Random rng)
    {
        var wire = new MemoryStream();
        void Put(string s) => wire.Write(Encoding.Latin1.GetBytes(s));
        for (var i = 0; i < body.Length;)
        {
            var n = Math.Min(body.Length - i, rng.Next(1, 400));
            var hex = n.ToString(rng.Next(2) == 0 ? "x" : "X", System.Globalization.CultureInfo.InvariantCulture);
            Put(new string('0', rng.Next(3)) + hex + Extensions[rng.Next(Extensions.Length)] + "\r\n");
            wire.Write(body, i, n);
            Put("\r\n");
            i += n;
        }
        Put(new string('0', rng.Next(1, 4)) + Extensions[rng.Next(Extensions.Length)] + "\r\n");
        var trailers = new List<KeyValuePair<string, string>>();
        for (var t = rng.Next(3); t > 0; t--)
        {
            var pair = new KeyValuePair<string, string>($"X-T{t}", $"v {rng.Next()}");
            trailers.Add(pair);
            Put($"{pair.Key}: {pair.Value}\r\n");
        }
        Put("\r\nNEXT");
        return (wire.ToArray(), trailers);
    }

    [Fact]
    public void DecodingInRandomPiecesGivesTheBodyBack()
    {
        Gen.Select(Gen.Byte.Array[0, 3000], Gen.Int).Sample((body, seed) =>
        {
            var rng = new Random(seed);
            var (wire, trailers) = Encode(body, rng);
            var decoder = new ChunkedBodyDecoder(HttpParserOptions.Default);
            var input = new SegmentedInput();
            var output = new MemoryStream();
            var buffer = new byte[600];
            var i = 0;
            while (i < wire.Length && !decoder.IsComplete)
            {
                var n = Math.Min(wire.Length - i, rng.Next(1, 300));
                input.Append(wire.AsSpan(i, n));
                i += n;
                while (true)
                {
                    var reader = new SequenceReader<byte>(input.ToSequence());
                    var written = decoder.Decode(ref reader, buffer.AsSpan(0, rng.Next(1, buffer.Length)));
                    input.Consume(reader.Consumed);
                    output.Write(buffer, 0, written);
                    if (written == 0)
                    {
                        break;
                    }
                }
            }
            input.Append(wire.AsSpan(i));
            Assert.True(decoder.IsComplete);
            Assert.Equal(body, output.ToArray());
            Assert.Equal(trailers, decoder.Trailers);
            Assert.Equal("NEXT"u8.ToArray(), input.ToSequence().ToArray());
        }, iter: 300);
    }

    [Fact]
    public void ResponseChunksDecodeBackToTheBody()
    {
        Gen.Byte.Array[0, 200].Array[0, 20].Sample(pieces =>
        {
            var writer = new ArrayBufferWriter<byte>();
            foreach (var p in pieces)
            {
                ChunkedEncoder.WriteChunk(writer, p);
            }
            ChunkedEncoder.WriteLastChunk(writer);
            var decoder = new ChunkedBodyDecoder(HttpParserOptions.Default);
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(writer.WrittenMemory));
            var output = new byte[pieces.Sum(p => p.Length) + 1];
            var total = 0;
            int n;
            while ((n = decoder.Decode(ref reader, output.AsSpan(total))) > 0)
            {
                total += n;
            }
            Assert.True(decoder.IsComplete);
            Assert.Equal(pieces.SelectMany(p => p), output.Take(total));
        }, iter: 300);
    }
}
