using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Sends <c>103 Early Hints</c> on an HTTP/2 stream. Kestrel 10 has no public API for a 1xx response (ASP.NET Core
/// issue 27851), so this takes the one route Kestrel itself uses for its own 1xx, <c>100 Continue</c>
/// (<c>Http2OutputProducer.Write100ContinueAsync</c>): under the stream producer's lock, if the stream's response
/// is not completed or aborted, take the connection frame writer's lock and write a HEADERS block (no END_STREAM)
/// for the stream, then flush. The block is encoded by Kestrel's own header writer and HPACK encoder
/// (<c>WriteResponseHeadersUnsynchronized</c>, CONTINUATION frames included), under the lock every header block
/// of the connection is encoded and written under, so the encoder's dynamic table and the wire order agree.
/// Called only before the stream's response started, so the 103 precedes the final HEADERS, which Kestrel's
/// output loop writes later under the same lock. The internals are looked up once per worker
/// (<see cref="Detect"/>); with any missing, hints are dropped as before (docs/http2.md).
/// </summary>
internal sealed class Http2EarlyHints
{
    private const BindingFlags Private = BindingFlags.Instance | BindingFlags.NonPublic;
    private const int EarlyHintsStatus = 103;
    private const string Http2Namespace = "Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http2.";
    private const string HttpResponseHeaders = "Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpResponseHeaders";
    private const string KestrelCore = "Microsoft.AspNetCore.Server.Kestrel.Core";

    // RFC 9113 §8.2.2: connection-specific fields make a message malformed over HTTP/2, as in the final response.
    private static readonly HashSet<string> ConnectionSpecific = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade",
    };

    private readonly Type _stream;
    private readonly FieldInfo _output;
    private readonly FieldInfo _producerLock;
    private readonly FieldInfo _completeScheduled;
    private readonly FieldInfo _frameWriter;
    private readonly FieldInfo _writerLock;
    private readonly FieldInfo _writerCompleted;
    private readonly MethodInfo _writeHeaders;
    private readonly MethodInfo _flush;
    private readonly ConstructorInfo _headers;
    private readonly object _noFlags;

    private Http2EarlyHints(Type stream, FieldInfo output, FieldInfo producerLock, FieldInfo completeScheduled, FieldInfo frameWriter,
        FieldInfo writerLock, FieldInfo writerCompleted, MethodInfo writeHeaders, MethodInfo flush, ConstructorInfo headers, object noFlags)
    {
        _stream = stream;
        _output = output;
        _producerLock = producerLock;
        _completeScheduled = completeScheduled;
        _frameWriter = frameWriter;
        _writerLock = writerLock;
        _writerCompleted = writerCompleted;
        _writeHeaders = writeHeaders;
        _flush = flush;
        _headers = headers;
        _noFlags = noFlags;
    }

    /// <summary>
    /// Finds the Kestrel internals this needs, with the types and signatures they have in .NET 10; null (and one
    /// debug line) when any is missing or different, as a later Kestrel may have them.
    /// </summary>
    /// <remarks>
    /// Ahead-of-time (the native build) the members it reads are kept by the <c>DynamicDependency</c>s below, with
    /// their metadata, so the lookups find them as with a JIT; had the trimmer dropped one anyway, the lookup would
    /// fail and hints be dropped, as with an unknown Kestrel.
    /// </remarks>
    [DynamicDependency(DynamicallyAccessedMemberTypes.NonPublicFields, Http2Namespace + "Http2Stream", KestrelCore)]
    [DynamicDependency(DynamicallyAccessedMemberTypes.NonPublicFields, Http2Namespace + "Http2OutputProducer", KestrelCore)]
    [DynamicDependency(DynamicallyAccessedMemberTypes.NonPublicFields | DynamicallyAccessedMemberTypes.NonPublicMethods,
        Http2Namespace + "Http2FrameWriter", KestrelCore)]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicFields, Http2Namespace + "Http2HeadersFrameFlags", KestrelCore)]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, HttpResponseHeaders, KestrelCore)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "the types are kept by the DynamicDependency attributes")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "the constructor is kept by a DynamicDependency attribute")]
    public static Http2EarlyHints? Detect(IErrorLog log)
    {
        var kestrel = typeof(KestrelServer).Assembly;
        var stream = kestrel.GetType(Http2Namespace + "Http2Stream");
        var producer = kestrel.GetType(Http2Namespace + "Http2OutputProducer");
        var writer = kestrel.GetType(Http2Namespace + "Http2FrameWriter");
        var flags = kestrel.GetType(Http2Namespace + "Http2HeadersFrameFlags");
        var headers = kestrel.GetType(HttpResponseHeaders);
        if (stream is not null && producer is not null && writer is not null && flags is not null && headers is not null
            && Field(stream, "_http2Output", producer) is { } output
            && Field(producer, "_dataWriterLock", typeof(Lock)) is { } producerLock
            && Field(producer, "_completeScheduled", typeof(bool)) is { } completeScheduled
            && Field(producer, "_frameWriter", writer) is { } frameWriter
            && Field(writer, "_writeLock", typeof(Lock)) is { } writerLock
            && Field(writer, "_completed", typeof(bool)) is { } writerCompleted
            && Method(writer, "WriteResponseHeadersUnsynchronized", typeof(void), typeof(int), typeof(int), flags, headers) is { } writeHeaders
            && Method(writer, "TimeFlushUnsynchronizedAsync", typeof(ValueTask<FlushResult>)) is { } flush
            && headers.GetConstructor([typeof(Func<string, System.Text.Encoding?>)]) is { } create)
        {
            return new Http2EarlyHints(stream, output, producerLock, completeScheduled, frameWriter, writerLock, writerCompleted,
                writeHeaders, flush, create, Enum.ToObject(flags, 0));
        }

        log.Debug("HTTP/2: this Kestrel has no HEADERS writer Unicorn knows; early hints (103) are dropped over HTTP/2");
        return null;
    }

    /// <summary>
    /// Sends one 103 with <paramref name="hints"/> on the stream of <paramref name="features"/>, which must not have
    /// started its response. Checks the fields as HTTP/1.1 does; drops the connection-specific ones. Returns
    /// false, sending nothing, when the stream is no longer open for a response (reset, aborted, completed).
    /// </summary>
    /// <exception cref="InvalidResponseException">a name is not a token or a value holds a control character.</exception>
    /// <exception cref="IOException">the connection failed while the hint was flushed.</exception>
    public bool Send(IFeatureCollection features, IReadOnlyList<KeyValuePair<string, string>> hints)
    {
        var fields = Fields(hints);
        if (!_stream.IsInstanceOfType(features) || features.Get<IHttpResponseFeature>() is not { HasStarted: false }
            || features.Get<IHttp2StreamIdFeature>() is not { } id)
        {
            return false;
        }

        var producer = _output.GetValue(features)!;
        var writer = _frameWriter.GetValue(producer)!;
        ValueTask<FlushResult> flush;
        using (((Lock)_producerLock.GetValue(producer)!).EnterScope())
        {
            if ((bool)_completeScheduled.GetValue(producer)!)
            {
                return false;
            }

            using (((Lock)_writerLock.GetValue(writer)!).EnterScope())
            {
                if ((bool)_writerCompleted.GetValue(writer)!)
                {
                    return false;
                }

                // flags NONE: Kestrel's writer sets END_HEADERS on the block's last frame, and no END_STREAM.
                _writeHeaders.Invoke(writer, [id.StreamId, EarlyHintsStatus, _noFlags, fields]);
                flush = (ValueTask<FlushResult>)_flush.Invoke(writer, null)!;
            }
        }

        try
        {
            flush.AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new IOException("client connection lost", e);
        }

        return true;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Detect's DynamicDependency attributes keep the fields")]
    private static FieldInfo? Field(Type type, string name, Type fieldType) =>
        type.GetField(name, Private) is { } field && field.FieldType == fieldType ? field : null;

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Detect's DynamicDependency attributes keep the methods")]
    private static MethodInfo? Method(Type type, string name, Type returns, params Type[] parameters) =>
        type.GetMethod(name, Private, parameters) is { } method && method.ReturnType == returns ? method : null;

    /// <summary>The hints as a Kestrel header dictionary, checked by HTTP/1.1's rules (ResponseHeadWriter.WriteEarlyHints).</summary>
    private object Fields(IReadOnlyList<KeyValuePair<string, string>> hints)
    {
        foreach (var (name, value) in hints)
        {
            if (name is null || !HttpChars.IsToken(name))
            {
                throw new InvalidResponseException($"invalid header name {HttpRejection.Repr(name ?? "None")}");
            }

            if (value is null || !ResponseFraming.IsFieldValue(value))
            {
                throw new InvalidResponseException($"invalid value for header {name}");
            }
        }

        var fields = _headers.Invoke([null]);
        var dictionary = (IHeaderDictionary)fields;
        foreach (var (name, value) in hints)
        {
            if (!ConnectionSpecific.Contains(name))
            {
                dictionary.Append(name.ToLowerInvariant(), value.Trim(' ', '\t'));
            }
        }

        return fields;
    }
}
