using System.Buffers;
using System.IO.Pipelines;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// An HTTP/1 body too large to buffer, read by the app thread straight from the connection's pipe: its
/// Content-Length counted down, or its chunked framing decoded as it is read.
/// </summary>
internal sealed class PipeRequestBody(PipeReader reader, long? length, ChunkedBodyDecoder? decoder, ReadOnlyMemory<byte> prefix, TimeSpan timeout,
    MinBodyDataRate rate = default)
    : StreamedRequestBody(reader, prefix, timeout, rate)
{
    private long _remaining = length ?? 0;

    public override long? Length => length;

    protected override int ReadFromPipe(Span<byte> destination)
    {
        while (true)
        {
            var read = ReadBlocking();
            var buffer = read.Buffer;
            if (decoder is null)
            {
                var n = (int)Math.Min(Math.Min(_remaining, buffer.Length), destination.Length);
                if (n > 0)
                {
                    buffer.Slice(0, n).CopyTo(destination);
                    Reader.AdvanceTo(buffer.GetPosition(n));
                    _remaining -= n;
                    Done = _remaining == 0;
                    return n;
                }
            }
            else
            {
                var (written, consumed) = HttpConnection.Decode(decoder, buffer, destination);
                Reader.AdvanceTo(consumed, written == 0 && !decoder.IsComplete ? buffer.End : consumed);
                Done = decoder.IsComplete;
                if (written > 0 || Done)
                {
                    return written;
                }
            }

            if (read.IsCompleted)
            {
                throw new IOException("client closed the connection before sending the whole body");
            }

            if (decoder is null)
            {
                Reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
    }

    /// <summary>Reads and drops what the app left unread so the next request can be parsed.
    /// False when that would cost too much or the client is gone: the caller closes.</summary>
    public Task<bool> DrainAsync(TimeSpan _)
    {
        // Dropping megabytes to save one connection is not worth it: close instead, as Gunicorn does
        // when a body is left over.
        return Task.FromResult(IsComplete);
    }
}
