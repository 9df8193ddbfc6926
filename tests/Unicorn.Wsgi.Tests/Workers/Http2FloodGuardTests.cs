using System.IO.Pipelines;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>The guard on Kestrel's HTTP/2 input: floods are cut, other traffic passes byte for byte, however it is consumed.</summary>
public sealed class Http2FloodGuardTests
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private static byte[] Frame(byte type, byte flags, int length) =>
        [(byte)(length >> 16), (byte)(length >> 8), (byte)length, type, flags, 0, 0, 0, 1, .. new byte[length]];

    private static byte[] Repeat(byte[] frame, int times) => [.. Enumerable.Repeat(frame, times).SelectMany(f => f)];

    /// <summary>Reads as Kestrel does, consuming a fixed step that ignores frame boundaries; returns what passed and the flood seen.</summary>
    private static async Task<(long Passed, string? Flood, bool Ended)> Consume(byte[] input, int step)
    {
        // The whole input is written before the read starts: no back-pressure threshold.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        await pipe.Writer.WriteAsync(input);
        await pipe.Writer.CompleteAsync();
        string? flood = null;
        var guard = new Http2FloodGuard(pipe.Reader, k => flood ??= k);
        long passed = 0;
        while (true)
        {
            var read = await guard.ReadAsync();
            var take = Math.Min(read.Buffer.Length, step);
            passed += take;
            guard.AdvanceTo(read.Buffer.GetPosition(take), read.Buffer.End);
            if (read.IsCompleted && take == read.Buffer.Length)
            {
                return (passed, flood, read.Buffer.IsEmpty && flood is not null);
            }
        }
    }

    [Theory]
    [InlineData(6, 0, "PING")]
    [InlineData(4, 0, "SETTINGS")]
    [InlineData(0, 0, "empty DATA")]
    public async Task Over_a_thousand_frames_without_a_request_in_a_second_end_the_input(byte type, byte flags, string kind)
    {
        var length = type == 6 ? 8 : 0;
        foreach (var step in new[] { 4093, 7, 1 << 20 })
        {
            var (passed, flood, ended) = await Consume([.. Preface, .. Repeat(Frame(type, flags, length), 5000)], step);
            Assert.Equal(kind, flood);
            Assert.True(ended);
            Assert.True(passed < Preface.Length + 5000L * (9 + length), $"step {step}: {passed}");
        }
    }

    [Fact]
    public async Task Acks_data_and_headers_pass_untouched_whatever_the_reads()
    {
        byte[] traffic =
        [
            .. Preface, .. Frame(4, 0, 6), .. Repeat(Frame(6, 1, 8), 3000), .. Repeat(Frame(4, 1, 0), 3000),
            .. Repeat([.. Frame(1, 4, 20), .. Frame(0, 0, 16384), .. Frame(0, 1, 0)], 50), .. Repeat(Frame(6, 0, 8), 900),
        ];
        foreach (var step in new[] { 4093, 7, 1 << 20 })
        {
            var (passed, flood, _) = await Consume(traffic, step);
            Assert.Null(flood);
            Assert.Equal(traffic.Length, passed);
        }
    }
}
