using System.Buffers;
using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;
using UnicornConnection = Unicorn.Wsgi.Connections.ConnectionContext;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// What Kestrel runs for each HTTP/2 stream: one stream is one request, as on HTTP/1.1. Its head goes through
/// the HTTP/1 parser's rules (limit_request_*, header_map, forwarded headers, SCRIPT_NAME) so both protocols
/// give the app the same environ, then the request runs in the worker's app host, and counts for the access
/// log, metrics and max_requests like any other.
/// Early hints reach the client through <paramref name="earlyHints"/> when this Kestrel has a route for them.
/// </summary>
internal sealed class Http2Application(WorkerContext worker, Http2EarlyHints? earlyHints = null) : IHttpApplication<IFeatureCollection>
{
    // The parse is synchronous, so a parser per thread (per trust) serves every stream that thread runs.
    [ThreadStatic]
    private static Http1RequestParser?[]? t_parsers;

    public IFeatureCollection CreateContext(IFeatureCollection contextFeatures) => contextFeatures;

    public void DisposeContext(IFeatureCollection context, Exception? exception)
    {
    }

    public async Task ProcessRequestAsync(IFeatureCollection features)
    {
        // While a stream runs its connection is not idle: the worker evicts only connections with none open.
        var transport = features.Get<Http2TransportConnection>();
        transport?.StreamStarted();
        try
        {
            await ProcessStreamAsync(features);
        }
        finally
        {
            transport?.StreamEnded();
        }
    }

    private async Task ProcessStreamAsync(IFeatureCollection features)
    {
        var connection = features.Get<UnicornConnection>()!;
        if (features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } extended)
        {
            RefuseExtendedConnect(features, connection, extended.Protocol);
            return;
        }

        var startTime = DateTimeOffset.UtcNow;
        var started = Stopwatch.GetTimestamp();
        RequestHead head;
        RequestBody body;
        WsgiRequest request;
        try
        {
            head = ParseHead(features.Get<IHttpRequestFeature>()!, connection.ForwardedTrusted);
            body = features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false }
                ? RequestBody.Empty
                : await Http2RequestBody.ReadAsync(features.Get<IRequestBodyPipeFeature>()!.Reader, head.ContentLength,
                    WorkerOptions.BufferedBodyLimit, worker.Options.ReadTimeout, worker.Options.MinBodyRate);
            request = worker.Requests.Build(head, body, connection.Listener, connection.RemoteEndPoint, connection.Proxy, connection.TlsEnviron);
        }
        catch (BadHttpRequestException e)
        {
            worker.Log.Warning(ConnectionPipelineLine(connection, e));
            if (e.Head is { } refused)
            {
                // The stream's own head (ParseHead's, not shared): the request line it logs is the stream's, HTTP/2.
                refused.VersionMajor = 2;
                refused.VersionMinor = 0;
            }

            worker.OnRequestRefused(e, connection.RemoteEndPoint);
            await RejectAsync(features, e);
            return;
        }
        catch (RequestBodyTimeoutException e)
        {
            worker.Log.Info(e.LogLine(connection.RemoteText));
            features.Get<IHttpRequestLifetimeFeature>()?.Abort();
            return;
        }

        worker.OnRequestStarting(); // may stop the worker (max_requests): its GOAWAY follows this response
        var sink = new Http2ResponseSink(features, head, earlyHints);
        request.ClientConnection = sink;
        await worker.Host.RunAsync(request, sink);
        worker.OnRequestDone(new CompletedRequest(request, sink, startTime, Stopwatch.GetElapsedTime(started)));
    }

    /// <summary>The stream's pseudo-headers and fields, as the HTTP/1.1 head they stand for, through the HTTP/1 parser's rules.</summary>
    private RequestHead ParseHead(IHttpRequestFeature stream, bool forwardedTrusted)
    {
        // A :path with a space or a control would break the request line built below, and the parser would name its
        // tail ("Invalid HTTP Version: 'b HTTP/1.1'"): refuse the target itself, as an HTTP/1.1 request line's.
        if (stream.RawTarget.AsSpan().IndexOfAnyInRange('\0', ' ') >= 0 || stream.RawTarget.Contains('\x7f', StringComparison.Ordinal))
        {
            throw HttpRejection.Create(RequestRejectionReason.InvalidRequestTarget, stream.Method + " " + stream.RawTarget);
        }

        var text = new StringBuilder(256)
            .Append(stream.Method).Append(' ').Append(stream.RawTarget).Append(" HTTP/1.1\r\n");
        foreach (var (name, values) in stream.Headers)
        {
            if (name.StartsWith(':'))
            {
                continue;
            }

            if (name.Equals("Cookie", StringComparison.OrdinalIgnoreCase) && values.Count > 1)
            {
                // RFC 9113 §8.2.3: split cookie fields are joined with "; " for an HTTP/1.1 application.
                text.Append(name).Append(": ").AppendJoin("; ", (IEnumerable<string?>)values).Append("\r\n");
                continue;
            }

            foreach (var value in values)
            {
                text.Append(name).Append(": ").Append(value).Append("\r\n");
            }
        }

        text.Append("\r\n");
        var bytes = Encoding.Latin1.GetBytes(text.ToString());
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        var head = new RequestHead();
        var parser = Parser(forwardedTrusted);
        parser.StartConnection(forwardedTrusted);
        if (!parser.TryParseHead(ref reader, head))
        {
            throw HttpRejection.Create(RequestRejectionReason.UnexpectedEndOfInput, "");
        }

        head.VersionMajor = 2;
        head.VersionMinor = 0;
        head.KeepAlive = true;
        head.ExpectContinue = false; // Kestrel answers 100-continue when the body is first read
        return head;
    }

    private Http1RequestParser Parser(bool forwardedTrusted)
    {
        var parsers = t_parsers ??= new Http1RequestParser?[2];
        var i = forwardedTrusted ? 1 : 0;
        if (parsers[i] is not { } parser || !ReferenceEquals(parser.Options, worker.Options.Parser))
        {
            parser = parsers[i] = new Http1RequestParser(worker.Options.Parser);
        }

        return parser;
    }

    /// <summary>
    /// An RFC 8441 extended CONNECT (<c>:protocol</c>, e.g. a websocket), which this server does not offer: its
    /// SETTINGS say ENABLE_CONNECT_PROTOCOL 0 (<see cref="Http2SettingsFilter"/>), and Kestrel passes the stream on
    /// anyway. To this connection <c>:protocol</c> is an undefined pseudo-header, so the request is malformed and
    /// the answer is a stream error of type PROTOCOL_ERROR (RFC 9113 §8.1.1, §8.3), as nghttp2 gives; the
    /// connection's other streams go on. It never reaches the app (a stream is one HTTP request there).
    /// </summary>
    private void RefuseExtendedConnect(IFeatureCollection features, UnicornConnection connection, string? protocol)
    {
        const int ProtocolError = 0x1;
        worker.Log.Debug($"HTTP/2: extended CONNECT (:protocol {protocol}) from {connection.RemoteText} refused with RST_STREAM PROTOCOL_ERROR: "
            + "RFC 8441 is not offered (websockets use HTTP/1.1)");
        if (features.Get<IHttpResetFeature>() is { } reset)
        {
            reset.Reset(ProtocolError);
        }
        else
        {
            features.Get<IHttpRequestLifetimeFeature>()?.Abort();
        }
    }

    private static string ConnectionPipelineLine(UnicornConnection connection, BadHttpRequestException e) =>
        Connections.ConnectionPipeline.InvalidRequestLine(connection, e);

    /// <summary>Gunicorn's error page for a refused request, on its stream only; the connection's other streams go on.</summary>
    private static async Task RejectAsync(IFeatureCollection features, BadHttpRequestException e)
    {
        if (e.IsEndOfInput)
        {
            return;
        }

        var response = features.Get<IHttpResponseFeature>()!;
        var body = ErrorResponse.BuildBody(e.ReasonPhrase, e.Detail);
        response.StatusCode = e.StatusCode;
        response.Headers.ContentType = "text/html";
        response.Headers.ContentLength = body.Length;
        response.Headers.Server = ResponseHeadWriter.ServerName;
        var output = features.Get<IHttpResponseBodyFeature>()!;
        await output.Writer.WriteAsync(body);
        await output.CompleteAsync();
    }
}
