using System.Buffers;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Writes one response to the connection's stream from the app thread, with blocking writes (the slow
/// client's back-pressure lands on that thread, which has released the GIL). Frames the body as
/// Gunicorn does: the app's Content-Length (extra output dropped), else chunked on HTTP/1.1, else
/// close-delimited; no body for HEAD, 1xx, 204 and 304.
/// </summary>
internal sealed class ResponseSink(Stream stream, string method, int versionMinor, bool keepAlive, DateHeader date) : IResponseSink, IDisposable
{
    private const int FlushThreshold = 64 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _count;
    private ResponseHead? _head;
    private long _sent;

    public bool HeadersSent { get; private set; }

    /// <summary>Whether the connection may carry another request once this response is done.</summary>
    public bool KeepAlive { get; private set; } = keepAlive;

    public int StatusCode => _head?.StatusCode ?? 0;

    public string Status => _head?.Status ?? "";

    /// <summary>Body bytes sent, after framing decisions (the access log's %(B)s).</summary>
    public long BodyBytesSent => _sent;

    public IReadOnlyList<KeyValuePair<string, string>> Headers => _head?.Headers ?? [];

    public void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (HeadersSent)
        {
            throw new InvalidOperationException("headers already sent");
        }

        _head = ResponseHead.Create(status, headers, method, versionMinor);
        if (_head.CloseDelimited)
        {
            KeepAlive = false;
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        EnsureHeaders();
        var head = _head!;
        if (head.NoBody || data.IsEmpty)
        {
            return;
        }

        if (head.ContentLength is { } length)
        {
            var room = length - _sent;
            if (room <= 0)
            {
                return;
            }

            data = data[..(int)Math.Min(room, data.Length)];
        }

        _sent += data.Length;
        if (head.Chunked)
        {
            WriteChunkHeader(data.Length);
            Append(data);
            Append("\r\n"u8);
        }
        else
        {
            Append(data);
        }
    }

    public void Flush()
    {
        if (_count > 0)
        {
            stream.Write(_buffer, 0, _count);
            _count = 0;
        }
    }

    public bool TrySendFile(SafeFileHandle file, long offset, long count)
    {
        if (stream is not NetworkStream network)
        {
            return false;
        }

        EnsureHeaders();
        var head = _head!;
        if (head.NoBody)
        {
            return true;
        }

        if (head.ContentLength is { } length)
        {
            count = Math.Min(count, length - _sent);
        }

        if (count <= 0)
        {
            return true;
        }

        if (head.Chunked)
        {
            WriteChunkHeader(count);
        }

        Flush();
        var socket = network.Socket;
        var sent = Transport.SendFile.Send(socket, file, offset, count);
        _sent += sent;
        if (sent < count)
        {
            throw new IOException("client closed the connection during sendfile");
        }

        if (head.Chunked)
        {
            Append("\r\n"u8);
        }

        return true;
    }

    public void Complete()
    {
        EnsureHeaders();
        var head = _head!;
        if (head.Chunked)
        {
            Append("0\r\n\r\n"u8);
        }
        else if (head.ContentLength is { } length && _sent < length && !head.NoBody)
        {
            // The app promised more than it gave: the client cannot find the next response.
            KeepAlive = false;
        }

        Flush();
    }

    public void Abort()
    {
        KeepAlive = false;
        try
        {
            Flush();
        }
        catch (IOException)
        {
        }
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void EnsureHeaders()
    {
        if (HeadersSent)
        {
            return;
        }

        var head = _head ?? throw new InvalidOperationException("the app did not call start_response");
        var writer = new SpanBuilder(this);
        head.WriteTo(ref writer, KeepAlive, date.Line);
        HeadersSent = true;
    }

    private void WriteChunkHeader(long size)
    {
        Span<byte> hex = stackalloc byte[20];
        size.TryFormat(hex, out var n, "x", System.Globalization.CultureInfo.InvariantCulture);
        Append(hex[..n]);
        Append("\r\n"u8);
    }

    internal void Append(ReadOnlySpan<byte> data)
    {
        if (_count + data.Length > _buffer.Length)
        {
            if (_count + data.Length > FlushThreshold)
            {
                Flush();
                if (data.Length >= FlushThreshold)
                {
                    // Large bodies go straight to the socket: no copy through the buffer.
                    stream.Write(data);
                    return;
                }
            }

            Grow(_count + data.Length);
        }

        data.CopyTo(_buffer.AsSpan(_count));
        _count += data.Length;
    }

    private void Grow(int needed)
    {
        if (needed <= _buffer.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _count).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    /// <summary>Lets <see cref="ResponseHead"/> write into the sink's buffer.</summary>
    internal readonly ref struct SpanBuilder(ResponseSink sink)
    {
        public void Append(ReadOnlySpan<byte> data) => sink.Append(data);
    }
}
