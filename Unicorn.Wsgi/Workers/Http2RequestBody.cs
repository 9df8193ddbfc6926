using System.Buffers;
using System.IO.Pipelines;
using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// An HTTP/2 stream's body too large to buffer (or of unknown length past the buffer), read by the app thread
/// from Kestrel's request pipe with blocking reads, each bounded by the read timeout. Consuming what it reads
/// is what opens the stream's flow-control window again, so an app that stops reading stops the upload.
/// </summary>
internal sealed class Http2RequestBody(PipeReader reader, long? length, ReadOnlyMemory<byte> prefix, TimeSpan timeout, MinBodyDataRate rate = default)
    : StreamedRequestBody(reader, prefix, timeout, rate)
{
    public override long? Length => length;

    protected override int ReadFromPipe(Span<byte> destination)
    {
        ReadResult read;
        try
        {
            read = ReadBlocking();
        }
        catch (Exception e) when (e is not IOException)
        {
            // The stream was reset or the connection lost: the app sees the client gone.
            throw new IOException("client reset the stream before sending the whole body", e);
        }

        var buffer = read.Buffer;
        var count = (int)Math.Min(buffer.Length, destination.Length);
        buffer.Slice(0, count).CopyTo(destination);
        Reader.AdvanceTo(buffer.GetPosition(count));
        // Kestrel ends the pipe at END_STREAM and checks the stream's content-length itself.
        Done = read.IsCompleted && count == buffer.Length;
        return count;
    }

    /// <summary>
    /// Reads the body off the app's threads when it fits in <paramref name="limit"/> bytes (as HTTP/1 does up to
    /// 1 MiB), so a slow uploader holds no Python thread; else returns what it read as the prefix of a streamed body.
    /// </summary>
    public static async Task<RequestBody> ReadAsync(PipeReader reader, long? length, int limit, TimeSpan timeout, MinBodyDataRate rate = default)
    {
        if (length > limit)
        {
            return new Http2RequestBody(reader, length, ReadOnlyMemory<byte>.Empty, timeout, rate);
        }

        var collected = new ArrayBufferWriter<byte>((int)(length ?? 4096));
        var started = Environment.TickCount64;
        while (true)
        {
            if (!reader.TryRead(out var read))
            {
                var (wait, byRate) = rate.NextWait(collected.WrittenCount, Environment.TickCount64 - started, timeout);
                using var cts = new CancellationTokenSource(wait);
                try
                {
                    read = await reader.ReadAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    throw rate.Failure(byRate);
                }
            }

            foreach (var segment in read.Buffer)
            {
                collected.Write(segment.Span);
            }

            reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                return collected.WrittenCount == 0 ? RequestBody.Empty : new BufferedRequestBody(collected.WrittenMemory);
            }

            if (collected.WrittenCount > limit)
            {
                return new Http2RequestBody(reader, length, collected.WrittenMemory, timeout, rate);
            }
        }
    }
}
