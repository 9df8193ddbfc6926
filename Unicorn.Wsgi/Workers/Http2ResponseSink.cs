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
/// never reach the wire (RFC 9113 §8.2.2), and Kestrel frames the body in DATA frames.
/// </summary>
internal sealed class Http2ResponseSink(IFeatureCollection features, RequestHead request) : IResponseSink, ICompletedResponse
{
    // Small writes are gathered; a streamed body is pushed at each Flush (each item the app yields).
    private const int FlushThreshold = 32 * 1024;

    private readonly IHttpResponseFeature _response = features.Get<IHttpResponseFeature>()!;
    private readonly IHttpResponseBodyFeature _body = features.Get<IHttpResponseBodyFeature>()!;
    private ResponseFraming? _framing;
    private long _unflushed;

    public bool HeadersSent { get; private set; }

    public string Status => _framing?.Status ?? "";

    public long BodyBytesSent => _framing?.BytesSent ?? 0;

    public IReadOnlyList<KeyValuePair<string, string>> Headers => _framing?.Headers ?? [];

    public void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (HeadersSent)
        {
            throw new InvalidOperationException("headers already sent");
        }

        _framing = ResponseFraming.Create(status, headers, request);
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
            _body.Writer.Write(data[..n]);
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
        var result = flush.IsCompletedSuccessfully ? flush.Result : Wait(flush.AsTask());
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
        Wait(_body.CompleteAsync());
    }

    public void Abort() => features.Get<IHttpRequestLifetimeFeature>()?.Abort();

    private ResponseFraming EnsureHeaders()
    {
        var framing = _framing ?? throw new InvalidOperationException("the app did not call start_response");
        if (!HeadersSent)
        {
            _response.StatusCode = framing.StatusCode;
            var headers = _response.Headers;
            foreach (var (name, value) in framing.Headers)
            {
                // ResponseFraming keeps "Upgrade: websocket" for HTTP/1.1; HTTP/2 has no upgrade (RFC 9113 §8.6).
                if (!name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase))
                {
                    headers.Append(name, value);
                }
            }

            headers.Server = ResponseHeadWriter.ServerName;
            HeadersSent = true;
        }

        return framing;
    }

    private static T Wait<T>(Task<T> task)
    {
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new IOException("client reset the stream", e);
        }
    }

    private static void Wait(Task task)
    {
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new IOException("client reset the stream", e);
        }
    }
}
