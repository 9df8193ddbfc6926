using System.Buffers;
using System.IO.Pipelines;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// A body too large to buffer, read by the app thread straight from the connection's pipe with blocking
/// reads (the bridge has released the GIL). Each wait is bounded by the read timeout.
/// </summary>
internal sealed class PipeRequestBody(PipeReader reader, long? length, ChunkedBodyDecoder? decoder, ReadOnlyMemory<byte> prefix, TimeSpan timeout) : RequestBody
{
    private long _remaining = length ?? 0;
    private ReadOnlyMemory<byte> _prefix = prefix;
    private bool _done;

    public override long? Length => length;

    /// <summary>Whether the whole body has been read (nothing of it is left on the connection).</summary>
    public bool IsComplete => _done && _prefix.IsEmpty;

    public override bool TryGetBuffered(out ReadOnlyMemory<byte> body)
    {
        body = default;
        return false;
    }

    public override int Read(Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }

        if (!_prefix.IsEmpty)
        {
            var n = Math.Min(destination.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(destination);
            _prefix = _prefix[n..];
            return n;
        }

        if (_done)
        {
            return 0;
        }

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
                    reader.AdvanceTo(buffer.GetPosition(n));
                    _remaining -= n;
                    _done = _remaining == 0;
                    return n;
                }
            }
            else
            {
                var (written, consumed) = HttpConnection.Decode(decoder, buffer, destination);
                reader.AdvanceTo(consumed, written == 0 && !decoder.IsComplete ? buffer.End : consumed);
                _done = decoder.IsComplete;
                if (written > 0 || _done)
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
                reader.AdvanceTo(buffer.Start, buffer.End);
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

    private ReadResult ReadBlocking()
    {
        if (reader.TryRead(out var ready))
        {
            return ready;
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return reader.ReadAsync(cts.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            throw new RequestBodyTimeoutException();
        }
    }
}
