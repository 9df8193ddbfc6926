using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Win32.SafeHandles;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Writes one HTTP/2 response from the app thread into Kestrel's stream, with blocking flushes: Kestrel's flow
/// control (the client's window) is the back-pressure, landing on the app thread that released the GIL. The
/// app's status and headers pass Gunicorn's checks (<see cref="ResponseFraming"/>); connection-specific fields
/// never reach the wire (RFC 9113 §8.2.2), and Kestrel frames the body in DATA frames. Early hints go through
/// <paramref name="earlyHints"/> (null: this Kestrel has no route for them, and they are dropped). It is also the
/// stream's <see cref="IClientConnection"/>: the client is gone once Kestrel aborts the stream (a reset, a lost connection).
/// </summary>
internal sealed class Http2ResponseSink(IFeatureCollection features, RequestHead request, Http2EarlyHints? earlyHints = null)
    : IResponseSink, ICompletedResponse, IClientConnection
{
    // Small writes are gathered; a streamed body is pushed at each Flush (each item the app yields).
    private const int FlushThreshold = 32 * 1024;

    private readonly IHttpResponseFeature _response = features.Get<IHttpResponseFeature>()!;
    private readonly IHttpResponseBodyFeature _body = features.Get<IHttpResponseBodyFeature>()!;
    private static readonly SearchValues<char> TrailerValueForbidden = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Where(c => c != '\t').Select(c => (char)c), (char)0x7f]);

    private static readonly HashSet<string> NotTrailers = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "TE", "Content-Length",
        "Content-Type", "Content-Encoding", "Content-Range", "Trailer", "Host", "Cache-Control", "Expect",
        "Set-Cookie", "Authorization", "WWW-Authenticate", "Proxy-Authenticate", "Age", "Date", "Location",
        "Retry-After", "Vary", "Warning", "Max-Forwards", "Range", "Server",
    };

    private ResponseFraming? _framing;
    private long _unflushed;
    private bool _completed;

    public async Task<bool> WaitUntilClosedAsync(CancellationToken token)
    {
        if (features.Get<IHttpRequestLifetimeFeature>() is not { RequestAborted: var aborted })
        {
            return false;
        }

        using var either = CancellationTokenSource.CreateLinkedTokenSource(aborted, token);
        try
        {
            await Task.Delay(Timeout.Infinite, either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        return aborted.IsCancellationRequested;
    }

    /// <summary>How long a write waits for a client that keeps its window shut (tests shorten it).</summary>
    internal TimeSpan StalledClientTimeout { get; init; } = Transport.SocketSend.StalledClientTimeout;

    public bool HeadersSent { get; private set; }

    public string Status => _framing?.Status ?? "";

    // As Gunicorn 26.1's resp.sent: a body HEAD, 1xx, 204 or 304 leaves out is not counted.
    public long BodyBytesSent => _framing is { OmitsBody: false } framing ? framing.BytesSent : 0;

    public IReadOnlyList<KeyValuePair<string, string>> Headers => _framing?.Headers ?? [];

    public void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (HeadersSent)
        {
            throw new InvalidOperationException("headers already sent");
        }

        _framing = ResponseFraming.Create(status, headers, request);
    }

    public void SendEarlyHints(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        // As on HTTP/1.1: never after the final head has gone (with the first body bytes or Complete).
        if (!HeadersSent)
        {
            earlyHints?.Send(features, headers);
        }
    }

    public void AddTrailers(IReadOnlyList<KeyValuePair<string, string>> trailers)
    {
        if (_completed)
        {
            throw new InvalidResponseException("trailers sent after the response ended");
        }

        var feature = features.Get<IHttpResponseTrailersFeature>()
            ?? throw new InvalidResponseException("this stream cannot carry trailers");
        foreach (var (name, value) in trailers)
        {
            if (!HttpChars.IsToken(name))
            {
                throw new InvalidResponseException($"invalid trailer name '{name}'");
            }

            if (value.AsSpan().ContainsAny(TrailerValueForbidden))
            {
                throw new InvalidResponseException($"invalid trailer value for {name}");
            }

            // Framing, routing and connection fields may not be trailers (RFC 9110 §6.5.1, RFC 9113 §8.2.2).
            if (NotTrailers.Contains(name))
            {
                throw new InvalidResponseException($"{name} may not be sent as a trailer");
            }
        }

        // Kestrel sends them in a HEADERS frame ending the stream, after the last DATA frame (Complete).
        foreach (var (name, value) in trailers)
        {
            feature.Trailers.Append(name.ToLowerInvariant(), value);
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        var n = EnsureHeaders().Admit(data.Length);
        if (n == 0)
        {
            return;
        }

        try
        {
            CopyToPipe(_body.Writer, data[..n]);
        }
        catch (Exception e) when (e is not IOException)
        {
            // The stream was reset (or the connection lost): Kestrel's writer is completed under the app.
            throw new IOException("client reset the stream", e);
        }

        _unflushed += n;
        if (_unflushed >= FlushThreshold)
        {
            Flush();
        }
    }

    public void Flush()
    {
        EnsureHeaders();
        _unflushed = 0;
        var flush = _body.Writer.FlushAsync();
        var result = flush.IsCompletedSuccessfully ? flush.Result : Bounded(flush.AsTask()).GetAwaiter().GetResult();
        if (result.IsCanceled || result.IsCompleted)
        {
            throw new IOException("client reset the stream");
        }
    }

    public bool HasAsyncWrites => true;

    public bool BlockingWritesNeedThePool => true;

    /// <summary>
    /// The ASGI host's path: the bytes go into Kestrel's pipe and the flush (the stream's flow-control window) is
    /// awaited without holding a thread; before, each wait blocked a thread-pool thread, the very threads Kestrel
    /// needs to read the WINDOW_UPDATE frames that end those waits. A flush not done within
    /// <see cref="StalledClientTimeout"/> resets the stream.
    /// </summary>
    public ValueTask WriteAsync(ReadOnlySpan<byte> data, bool complete)
    {
        var n = EnsureHeaders().Admit(data.Length);
        if (n > 0)
        {
            try
            {
                CopyToPipe(_body.Writer, data[..n]);
            }
            catch (Exception e) when (e is not IOException)
            {
                throw new IOException("client reset the stream", e);
            }
        }

        _unflushed = 0;
        if (complete)
        {
            _completed = true;
            return new ValueTask(Bounded(_body.CompleteAsync()));
        }

        return FlushAsync();
    }

    private async ValueTask FlushAsync()
    {
        var flush = _body.Writer.FlushAsync();
        var result = flush.IsCompletedSuccessfully ? flush.Result : await Bounded(flush.AsTask()).ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted)
        {
            throw new IOException("client reset the stream");
        }
    }

    // sendfile(2) cannot go through HTTP/2 framing (nor TLS): the bridge falls back to reads and Write.
    public bool TrySendFile(SafeFileHandle file, long offset, long count) => false;

    public void Complete()
    {
        EnsureHeaders();
        _completed = true;
        Bounded(_body.CompleteAsync()).GetAwaiter().GetResult();
    }

    public void Abort() => features.Get<IHttpRequestLifetimeFeature>()?.Abort();

    private ResponseFraming EnsureHeaders()
    {
        var framing = _framing ?? throw new InvalidOperationException("the app did not call start_response");
        if (!HeadersSent)
        {
            _response.StatusCode = framing.StatusCode;
            var headers = _response.Headers;
            // A 2xx answer to CONNECT opens a tunnel and may not carry Content-Length (RFC 9110 §9.3.6; Kestrel throws
            // on it): the app's is left out and its body goes out as the stream's DATA.
            var tunnel = framing.StatusCode is >= 200 and < 300 && request.Method == "CONNECT";
            foreach (var (name, value) in framing.Headers)
            {
                // ResponseFraming keeps "Upgrade: websocket" for HTTP/1.1; HTTP/2 has no upgrade (RFC 9113 §8.6).
                if (!name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)
                    && !(tunnel && name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)))
                {
                    headers.Append(name, value);
                }
            }

            headers.Server = ResponseHeadWriter.ServerName;
            HeadersSent = true;
        }

        return framing;
    }

    /// <summary>
    /// Copies into the stream's pipe in the blocks its pool hands out (<see cref="Http2MemoryPool"/>).
    /// <c>PipeWriter.Write</c> asks the pipe for a span as large as what remains (GetSpan(sizeHint)), and past the
    /// pool's 4 KiB blocks the pipe rents that size from the shared ArrayPool instead: a 1 MiB array per 1 MiB body.
    /// </summary>
    private static void CopyToPipe(System.IO.Pipelines.PipeWriter writer, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var span = writer.GetSpan();
            var n = Math.Min(span.Length, data.Length);
            data[..n].CopyTo(span);
            writer.Advance(n);
            data = data[n..];
        }
    }

    /// <summary>
    /// Waits for Kestrel to take the bytes, which it does as the client's flow-control window allows. A client that
    /// keeps its window shut would hold the write for good: after <see cref="StalledClientTimeout"/> the stream is
    /// reset and the write fails, as a plain socket's send gives up on a client that takes nothing.
    /// </summary>
    private async Task Bounded(Task task)
    {
        try
        {
            await task.WaitAsync(StalledClientTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Abort();
            throw new IOException($"the client took no response bytes for {StalledClientTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new IOException("client reset the stream", e);
        }
    }

    private async Task<T> Bounded<T>(Task<T> task)
    {
        await Bounded((Task)task).ConfigureAwait(false);
        return task.Result;
    }
}
