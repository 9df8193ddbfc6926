using System.Buffers;
using System.IO.Pipelines;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

internal sealed partial class HttpConnection
{
    // A body the app reads from the receive buffers, and where the reader resumes once the app is done.
    private SequenceRequestBody? _heldBody;
    private SequencePosition _heldBodyEnd;

    /// <summary>The app is done with the body (or has its own copy of it): the reader may move past it.</summary>
    private void ReturnBody()
    {
        if (_heldBody is { } held)
        {
            _heldBody = null;
            held.Release();
            _reader.AdvanceTo(_heldBodyEnd);
        }
    }

    /// <summary>
    /// Reads the body before the app runs when it is small enough, so a slow uploader costs no Python
    /// thread; a larger body streams to the app from where this stopped.
    /// </summary>
    private async Task<RequestBody> ReadBodyAsync()
    {
        if (_head.IsChunked)
        {
            return await ReadChunkedAsync();
        }

        if (_head.ContentLength is not { } size || size <= 0)
        {
            return RequestBody.Empty;
        }

        if (size > WorkerOptions.BufferedBodyLimit)
        {
            return new PipeRequestBody(_reader, size, null, ReadOnlyMemory<byte>.Empty, _worker.Options.ReadTimeout);
        }

        while (true)
        {
            var read = await _connection.ReadAsync(_worker.Options.ReadTimeout) ?? throw new RequestBodyTimeoutException();
            var buffer = read.Buffer;
            if (buffer.Length >= size)
            {
                // Left in the receive buffers until the app is done (ReturnBody): the bridge copies it
                // from there into the Python bytes object, its only copy in user space. Nothing reads
                // this connection while its app runs, except an upgrade, which releases it first.
                _heldBodyEnd = buffer.GetPosition(size);
                _heldBody = new SequenceRequestBody(buffer.Slice(0, _heldBodyEnd));
                return _heldBody;
            }

            if (read.IsCompleted)
            {
                throw new IOException("client closed the connection before sending the whole body");
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

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
