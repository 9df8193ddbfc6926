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
        _head.IsChunked ? ReadChunkedAsync() : ReadSizedBodyAsync(_head.ContentLength ?? 0);

    private async Task<RequestBody> ReadChunkedAsync()
    {
        var decoder = new ChunkedBodyDecoder(_worker.Options.Parser);
        var decoded = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var read = await _connection.ReadAsync(_worker.Options.ReadTimeout) ?? throw new RequestBodyTimeoutException();
            var buffer = read.Buffer;
            var (written, consumed) = Decode(decoder, buffer, decoded.GetSpan(Math.Max(4096, (int)Math.Min(buffer.Length, 65536))));
            decoded.Advance(written);
            if (decoder.IsComplete)
            {
                _reader.AdvanceTo(consumed);
                return new BufferedRequestBody(decoded.WrittenMemory);
            }

            if (written == 0 && read.IsCompleted)
            {
                // Gunicorn's answer for a body cut short: NoMoreData, or ChunkMissingTerminator (400).
                decoder.OnEndOfInput();
            }

            _reader.AdvanceTo(consumed, written == 0 ? buffer.End : consumed);
            if (decoded.WrittenCount > WorkerOptions.BufferedBodyLimit)
            {
                return new PipeRequestBody(_reader, null, decoder, decoded.WrittenMemory, _worker.Options.ReadTimeout);
            }
        }
    }

    internal static (int Written, SequencePosition Consumed) Decode(ChunkedBodyDecoder decoder, ReadOnlySequence<byte> buffer, Span<byte> destination)
    {
        var reader = new SequenceReader<byte>(buffer);
        var written = decoder.Decode(ref reader, destination);
        return (written, reader.Position);
    }
}
