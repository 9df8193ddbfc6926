using System.Buffers;
using System.IO.Pipelines;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// The filter on Kestrel's HTTP/2 output: ENABLE_CONNECT_PROTOCOL goes out as 0 in the server's first SETTINGS,
/// however Kestrel splits its writes; every other byte, and everything after that frame, passes unchanged.
/// </summary>
public sealed class Http2SettingsFilterTests
{
    private static byte[] Settings(byte flags, params (int Id, uint Value)[] entries)
    {
        var length = entries.Length * 6;
        var frame = new List<byte> { (byte)(length >> 16), (byte)(length >> 8), (byte)length, 0x4, flags, 0, 0, 0, 0 };
        foreach (var (id, value) in entries)
        {
            frame.AddRange([(byte)(id >> 8), (byte)id, (byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
        }

        return [.. frame];
    }

    // Kestrel's first SETTINGS (10.0), then a WINDOW_UPDATE.
    private static readonly byte[] KestrelSettings = Settings(0, (0x3, 100), (0x6, 65536), (0x8, 1));
    private static readonly byte[] WindowUpdate = [0, 0, 4, 0x8, 0, 0, 0, 0, 0, 0, 0x0f, 0, 1];

    /// <summary>Writes <paramref name="output"/> through the filter in pieces of <paramref name="step"/> bytes; returns what reached the inner writer.</summary>
    private static async Task<byte[]> Write(byte[] output, int step, bool writeAsync = false)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var filter = new Http2SettingsFilter(pipe.Writer);
        for (var at = 0; at < output.Length; at += step)
        {
            var piece = output.AsMemory(at, Math.Min(step, output.Length - at));
            if (writeAsync)
            {
                await filter.WriteAsync(piece);
            }
            else
            {
                piece.Span.CopyTo(filter.GetSpan(piece.Length));
                filter.Advance(piece.Length);
            }
        }

        await filter.FlushAsync();
        await filter.CompleteAsync();
        var read = await pipe.Reader.ReadAtLeastAsync(int.MaxValue);
        return read.Buffer.ToArray();
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(5, false)]
    [InlineData(9, false)]
    [InlineData(13, false)]
    [InlineData(1000, false)]
    [InlineData(3, true)]
    [InlineData(1000, true)]
    public async Task The_first_settings_say_extended_connect_is_not_supported_however_the_writes_are_split(int step, bool writeAsync)
    {
        var got = await Write([.. KestrelSettings, .. WindowUpdate], step, writeAsync);

        byte[] expected = [.. Settings(0, (0x3, 100), (0x6, 65536), (0x8, 0)), .. WindowUpdate];
        Assert.Equal(expected, got);
    }

    [Fact]
    public async Task Only_the_first_frame_is_read()
    {
        // A later SETTINGS is the server's business: the filter has stopped looking.
        var later = Settings(0, (0x8, 1));
        var got = await Write([.. KestrelSettings, .. later], 7);

        Assert.Equal([.. Settings(0, (0x3, 100), (0x6, 65536), (0x8, 0)), .. later], got);
    }

    [Fact]
    public async Task Other_first_frames_and_other_settings_pass_unchanged()
    {
        byte[] ack = [.. Settings(0x1), .. Settings(0, (0x8, 1))];
        Assert.Equal(ack, await Write(ack, 4));

        var without = Settings(0, (0x3, 100), (0x4, 0x10008), (0x6, 65536));
        Assert.Equal(without, await Write(without, 1));
    }
}
