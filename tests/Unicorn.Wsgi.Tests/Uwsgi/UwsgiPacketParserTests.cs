using System.Buffers;
using Unicorn.Wsgi.Uwsgi;

namespace Unicorn.Wsgi.Tests.Uwsgi;

public sealed class UwsgiPacketParserTests
{
    private static ReadOnlySequence<byte> Chunked(byte[] data, int chunk)
    {
        if (chunk >= data.Length)
        {
            return new ReadOnlySequence<byte>(data);
        }

        Segment? first = null, last = null;
        for (var i = 0; i < data.Length; i += chunk)
        {
            var piece = data.AsMemory(i, Math.Min(chunk, data.Length - i));
            if (first is null)
            {
                first = last = new Segment(piece, 0);
            }
            else
            {
                last = last!.Append(piece);
            }
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long running)
        {
            Memory = memory;
            RunningIndex = running;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    /// <summary>Feeds the bytes as they would arrive, growing the buffer a byte at a time; returns the bytes consumed.</summary>
    private static long ParseIncrementally(byte[] data, UwsgiPacket packet)
    {
        for (var available = 0; available <= data.Length; available++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(data, 0, available));
            if (UwsgiPacketParser.TryParse(ref reader, packet))
            {
                return reader.Consumed;
            }

            Assert.Equal(0, reader.Consumed);
        }

        return -1;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(100000)]
    public void Reads_a_packet_in_any_chunking(int chunk)
    {
        var data = UwsgiPackets.Request("POST", "/a b", "x=1", "hello");
        var packet = new UwsgiPacket();
        var reader = new SequenceReader<byte>(Chunked(data, chunk));
        Assert.True(UwsgiPacketParser.TryParse(ref reader, packet));
        Assert.Equal("POST", packet.Get("REQUEST_METHOD"));
        Assert.Equal("/a b", packet.Get("PATH_INFO"));
        Assert.Equal("x=1", packet.Get("QUERY_STRING"));
        Assert.Equal(5, packet.ContentLength);
        Assert.Equal("hello", System.Text.Encoding.Latin1.GetString(reader.UnreadSequence.ToArray()));
    }

    [Fact]
    public void Needs_the_whole_packet_and_stops_at_the_body()
    {
        var data = UwsgiPackets.Request("POST", "/", "", "body!");
        var packet = new UwsgiPacket();
        Assert.Equal(data.Length - 5, ParseIncrementally(data, packet));
    }

    [Fact]
    public void Repeated_names_keep_the_last_value_and_bytes_are_latin1()
    {
        var packet = new UwsgiPacket();
        var data = UwsgiPackets.Build([("HTTP_X", "one"), ("HTTP_X", "two"), ("HTTP_Y", "caf\u00e9"), ("", "")]);
        Assert.Equal(data.Length, ParseIncrementally(data, packet));
        Assert.Equal("two", packet.Get("HTTP_X"));
        Assert.Equal("caf\u00e9", packet.Get("HTTP_Y"));
        Assert.Equal(0, packet.ContentLength);
    }

    [Fact]
    public void An_empty_vars_block_is_a_packet()
    {
        var packet = new UwsgiPacket();
        Assert.Equal(4, ParseIncrementally(UwsgiPackets.Frame([]), packet));
        Assert.Empty(packet.Vars);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(255)]
    public void A_modifier1_other_than_0_is_501_before_the_vars_arrive(byte modifier1)
    {
        var packet = new UwsgiPacket();
        var data = UwsgiPackets.Frame(new byte[100], modifier1)[..4];
        var e = Assert.Throws<UwsgiProtocolException>(() =>
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(data));
            UwsgiPacketParser.TryParse(ref reader, packet);
        });
        Assert.Equal(501, e.StatusCode);
        Assert.Equal($"Unsupported uWSGI modifier1: {modifier1}", e.Message);
    }

    public static TheoryData<byte[], string> Malformed => new()
    {
        { UwsgiPackets.Frame([5]), "truncated key size" },
        { UwsgiPackets.Frame([5, 0, (byte)'a']), "truncated key" },
        { UwsgiPackets.Frame([1, 0, (byte)'a']), "truncated value size" },
        { UwsgiPackets.Frame([1, 0, (byte)'a', 0xff, 0xff, (byte)'b']), "truncated value" },
        { UwsgiPackets.Build([("CONTENT_LENGTH", "12x")]), "CONTENT_LENGTH is not a number" },
        { UwsgiPackets.Build([("CONTENT_LENGTH", "-1")]), "CONTENT_LENGTH is not a number" },
        { UwsgiPackets.Build([("CONTENT_LENGTH", "9999999999999999999")]), "CONTENT_LENGTH is not a number" },
        { UwsgiPackets.Build(Enumerable.Range(0, 1001).Select(i => ("K" + i, ""))), "too many variables" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_vars_block_is_400(byte[] data, string reason)
    {
        var packet = new UwsgiPacket();
        var e = Assert.Throws<UwsgiProtocolException>(() =>
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(data));
            UwsgiPacketParser.TryParse(ref reader, packet);
        });
        Assert.Equal(400, e.StatusCode);
        Assert.Equal("Invalid uWSGI header: " + reason, e.Message);
        Assert.False(e.IsEndOfInput);
    }

    [Fact]
    public void Random_bytes_are_a_packet_more_bytes_or_a_refusal_never_anything_else()
    {
        // What a hostile peer can send: the parser and the mapper end in a packet, "need more" or a
        // UwsgiProtocolException, whatever the bytes (a fixed seed, so a failure replays).
        var random = new Random(18);
        var packet = new UwsgiPacket();
        for (var i = 0; i < 20000; i++)
        {
            var data = new byte[random.Next(0, 300)];
            random.NextBytes(data);
            if (data.Length > 0 && random.Next(2) == 0)
            {
                data[0] = 0; // get past the modifier check half the time
            }

            if (data.Length > 3 && random.Next(2) == 0)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(1), (ushort)random.Next(0, data.Length - 3));
            }

            try
            {
                var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(data));
                if (UwsgiPacketParser.TryParse(ref reader, packet))
                {
                    UwsgiRequestMapper.Build(packet, Unicorn.Wsgi.Application.RequestBody.Empty, ("h", "1"), "http", null, "", null);
                }
            }
            catch (UwsgiProtocolException)
            {
            }
        }
    }

    [Fact]
    public void A_thousand_vars_are_accepted()
    {
        var packet = new UwsgiPacket();
        var data = UwsgiPackets.Build(Enumerable.Range(0, 1000).Select(i => ("K" + i, "")));
        Assert.Equal(data.Length, ParseIncrementally(data, packet));
        Assert.Equal(1000, packet.Vars.Count);
    }

    [Fact]
    public void A_declared_size_beyond_the_bytes_sent_waits_and_never_reads_past_64_KiB()
    {
        // The size field is 16 bits: a packet can never ask the server to buffer more than 4 + 65535 bytes.
        var packet = new UwsgiPacket();
        var data = UwsgiPackets.Frame(new byte[70000], declaredSize: 65535);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(data, 0, 65538));
        Assert.False(UwsgiPacketParser.TryParse(ref reader, packet));
        Assert.Equal(0, reader.Consumed);
        Assert.Equal("Invalid uWSGI header: incomplete header", UwsgiPacketParser.Truncated(3).Message);
        Assert.True(UwsgiPacketParser.Truncated(100).IsEndOfInput);
    }
}
