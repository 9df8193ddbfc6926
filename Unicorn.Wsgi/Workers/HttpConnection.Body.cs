using System.Buffers;
using System.IO.Pipelines;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

internal sealed partial class HttpConnection
{
    /// <summary>
    /// Reads the body before the app runs when it is small enough, so a slow uploader costs no Python
    /// thread; a larger body streams to the app from where this stopped.
    /// </summary>
    private Task<RequestBody> ReadBodyAsync() =>
        _head.IsChunked ? ReadChunkedBodyAsync() : ReadSizedBodyAsync(_head.ContentLength ?? 0);

    private async Task<RequestBody> ReadChunkedBodyAsync()
    {
        var (body, end) = await ReadChunkedAsync(_reader, _connection.ReadAsync, _worker.Options.Parser, _worker.Options.ReadTimeout, _worker.Options.MinBodyRate);
        if (body is FramedRequestBody held)
        {
            HoldBody(held, end);
        }

        return body;
    }

    /// <summary>
    /// A chunked body is first only measured where it arrives, in the receive buffers, framing and all. When it ends
    /// within <paramref name="limit"/> bytes it stays there, unconsumed, as a <see cref="FramedRequestBody"/> that
    /// ends at the position returned (the reader resumes there once the app is done), decoded once, into Python.
    /// Otherwise nothing of it has been consumed, and it streams to the app from its first byte. Either way no
    /// array grows with the body. <paramref name="read"/> reads more, its wait bounded by the time it is given (null: out of time).
    /// </summary>
    internal static async Task<(RequestBody Body, SequencePosition End)> ReadChunkedAsync(PipeReader input, Func<TimeSpan, bool, ValueTask<ReadResult?>> read,
        HttpParserOptions options, TimeSpan timeout, MinBodyDataRate rate = default, int limit = WorkerOptions.BufferedBodyLimit)
    {
        var scanner = new ChunkedBodyDecoder(options);
        long scanned = 0; // of the framed body, how far the scanner has gone
        long length = 0; // the body bytes in that
        var started = Environment.TickCount64;
        long received = 0; // nothing is consumed meanwhile: the buffer is all that arrived, framing included
        while (true)
        {
            var (wait, byRate) = rate.NextWait(received, Environment.TickCount64 - started, timeout);
            var result = await read(wait, false) ?? throw rate.Failure(byRate);
            var buffer = result.Buffer;
            received = buffer.Length;
            var reader = new SequenceReader<byte>(buffer.Slice(scanned));
            length += scanner.Skip(ref reader);
            scanned += reader.Consumed;
            if (scanner.IsComplete && length <= limit)
            {
                var end = buffer.GetPosition(scanned);
                if (length == 0)
                {
                    input.AdvanceTo(end);
                    return (RequestBody.Empty, default);
                }

                return (new FramedRequestBody(buffer.Slice(0, end), (int)length, options), end);
            }

            if (scanner.IsComplete || scanned > limit)
            {
                // Left unexamined, so the body's first read takes these bytes at once rather than waiting for more.
                input.AdvanceTo(buffer.Start);
                return (new PipeRequestBody(input, null, new ChunkedBodyDecoder(options), ReadOnlyMemory<byte>.Empty, timeout, rate), default);
            }

            if (result.IsCompleted)
            {
                // Gunicorn's answer for a body cut short: NoMoreData, or ChunkMissingTerminator (400).
                scanner.OnEndOfInput();
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    internal static (int Written, SequencePosition Consumed) Decode(ChunkedBodyDecoder decoder, ReadOnlySequence<byte> buffer, Span<byte> destination)
    {
        var reader = new SequenceReader<byte>(buffer);
        var written = decoder.Decode(ref reader, destination);
        return (written, reader.Position);
    }
}
