using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Writes one response to the connection's stream from the app thread, with blocking writes: a slow
/// client's back-pressure lands on that thread, which has released the GIL. Validation and framing are
/// <see cref="ResponseFraming"/>'s (Gunicorn's rules); this class decides when bytes leave.
/// </summary>
internal sealed class ResponseSink(Stream stream, RequestHead request, bool forceClose, CancellationToken stopping = default) : IResponseSink, ICompletedResponse, IDisposable
{
    // Bodies this large skip the buffer and go to the socket as they are.
    private const int WriteThroughThreshold = 32 * 1024;

    // Small bodies buffered past this go out at once: a writer that never pauses (the greenlet pump while its
    // greenlet keeps the queue non-empty, a list body of many small items) would otherwise buffer the whole response.
    private const int BufferedLimit = 512 * 1024;

    // Gunicorn's page for a request its worker's timeout aborted (TryAnswerAbortedRequest).
    private static readonly byte[] AbortedRequestResponse = ErrorResponse.Build(500, "Internal Server Error", null);
    private readonly OutputBuffer _output = new(stream);
    private ResponseFraming? _framing;
    private CancellationTokenSource? _writeTimer;
    private bool _aborted;

    /// <summary>How long an async write waits for a client that takes nothing (tests shorten it).</summary>
    internal TimeSpan StalledClientTimeout { get; init; } = Transport.SocketSend.StalledClientTimeout;

    /// <summary>False under <c>--no-sendfile</c>: file bodies are then read and written in blocks by the caller.</summary>
    internal bool AllowSendfile { get; init; } = true;

    public bool HeadersSent { get; private set; }

    /// <summary>Whether the connection may carry another request once this response is done.</summary>
    public bool KeepAlive => !_aborted && _framing is { KeepAlive: true, EndsCleanly: true };

    public int StatusCode => _framing?.StatusCode ?? 0;

    public string Status => _framing?.Status ?? "";

    /// <summary>Body bytes sent (the access log's %(B)s).</summary>
    // As Gunicorn 26.1's resp.sent: a body HEAD, 1xx, 204 or 304 leaves out is not counted.
    public long BodyBytesSent => _framing is { OmitsBody: false } framing ? framing.BytesSent : 0;

    public IReadOnlyList<KeyValuePair<string, string>> Headers => _framing?.Headers ?? [];

    public void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (HeadersSent)
        {
            throw new InvalidOperationException("headers already sent");
        }

        // A graceful stop that began while the app ran closes the connection after this response, so say
        // so (Connection: close) rather than leave a keep-alive client to send into a closing socket.
        _framing = ResponseFraming.Create(status, headers, request, forceClose || stopping.IsCancellationRequested);
    }

    public void SetAsgiResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        SetResponse(status, headers);
        _framing!.CloseIfAsked(headers);
    }

    public void SendEarlyHints(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        // Gunicorn: never after the final head (it would break the framing), never to an HTTP/1.0 client.
        if (HeadersSent || request.VersionMajor != 1 || request.VersionMinor < 1)
        {
            return;
        }

        ResponseHeadWriter.WriteEarlyHints(_output, headers);
        _output.Flush();
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        var framing = EnsureHeaders();
        if (data.Length < WriteThroughThreshold)
        {
            ResponseHeadWriter.WriteBody(_output, framing, data);
            if (_output.Count >= BufferedLimit)
            {
                _output.Flush();
            }

            return;
        }

        var n = framing.Admit(data.Length);
        if (n == 0)
        {
            return;
        }

        if (framing.Chunked)
        {
            WriteChunkHeader(n);
            _output.WriteThrough(data[..n]);
            ResponseHeadWriter.Write(_output, "\r\n"u8);
        }
        else
        {
            _output.WriteThrough(data[..n]);
        }
    }

    public void Flush() => _output.Flush();

    public bool HasAsyncWrites => true;

    public ValueTask WriteAsync(ReadOnlySpan<byte> data, bool complete)
    {
        var framing = EnsureHeaders();
        if (!data.IsEmpty)
        {
            ResponseHeadWriter.WriteBody(_output, framing, data);
        }

        if (complete)
        {
            ResponseHeadWriter.WriteEnd(_output, framing);
        }

        return FlushAsync();
    }

    private async ValueTask FlushAsync()
    {
        // One timer per response, re-armed per write: a client that takes nothing for this long is given up on.
        _writeTimer ??= new CancellationTokenSource();
        _writeTimer.CancelAfter(StalledClientTimeout);
        try
        {
            await _output.FlushAsync(_writeTimer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _aborted = true;
            throw new IOException($"the client took no response bytes for {StalledClientTimeout.TotalSeconds:0} s");
        }
        finally
        {
            if (!_writeTimer.TryReset())
            {
                _writeTimer.Dispose();
                _writeTimer = null;
            }
        }
    }

    public void WriteAndFlush(ReadOnlySpan<byte> data)
    {
        var framing = EnsureHeaders();
        var n = framing.Admit(data.Length);
        if (n == 0)
        {
            _output.Flush();
        }
        else if (framing.Chunked)
        {
            // Head (first time), chunk header, the item and its CRLF: one gather write, the item not copied.
            WriteChunkHeader(n);
            _output.WriteThrough(data[..n], "\r\n"u8);
        }
        else
        {
            _output.WriteThrough(data[..n]);
        }
    }

    public bool TrySendFile(SafeFileHandle file, long offset, long count)
    {
        if (!AllowSendfile || stream is not NetworkStream network)
        {
            return false;
        }

        var framing = EnsureHeaders();
        var n = framing.Admit(count);
        if (n == 0)
        {
            return true;
        }

        if (framing.Chunked)
        {
            WriteChunkHeader(n);
        }

        _output.Flush();
        var sent = Transport.SendFile.Send(network.Socket, file, offset, n);
        if (sent < n)
        {
            framing.Unsent(n - sent);
            throw new IOException("client closed the connection during sendfile");
        }

        if (framing.Chunked)
        {
            ResponseHeadWriter.Write(_output, "\r\n"u8);
        }

        return true;
    }

    public ImmediateResponse TryCompleteNow(ReadOnlySpan<byte> body)
    {
        if (!_output.IsSocket)
        {
            return ImmediateResponse.Unsupported;
        }

        var framing = EnsureHeaders();
        ResponseHeadWriter.WriteBody(_output, framing, body);
        ResponseHeadWriter.WriteEnd(_output, framing);
        return _output.TrySendNow() ? ImmediateResponse.Sent : ImmediateResponse.Buffered;
    }

    public void Complete()
    {
        var framing = EnsureHeaders();
        ResponseHeadWriter.WriteEnd(_output, framing);
        _output.Flush();
    }

    public void Abort()
    {
        _aborted = true;
        try
        {
            _output.Flush();
        }
        catch (IOException)
        {
        }
    }

    // From the aborting thread while the app thread is held in the app: nothing else writes to the stream (an app
    // waking at this moment could only add bytes to a connection the worker's exit is about to close).
    public bool TryAnswerAbortedRequest()
    {
        if (HeadersSent || _aborted)
        {
            return false;
        }

        _aborted = true;
        try
        {
            stream.Write(AbortedRequestResponse);
            stream.Flush();
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _writeTimer?.Dispose();
        _output.Dispose();
    }

    private ResponseFraming EnsureHeaders()
    {
        var framing = _framing ?? throw new InvalidOperationException("the app did not call start_response");
        if (!HeadersSent)
        {
            ResponseHeadWriter.WriteHead(_output, framing, request);
            HeadersSent = true;
        }

        return framing;
    }

    private void WriteChunkHeader(long size)
    {
        var span = _output.GetSpan(ChunkedEncoder.MaxChunkHeaderLength);
        _output.Advance(ChunkedEncoder.FormatChunkHeader(size, span));
    }
}
