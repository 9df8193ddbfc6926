namespace Unicorn.Wsgi.Http;

/// <summary>
/// Bad input from a client. <see cref="Exception.Message"/> is Gunicorn's text for the error (it goes into
/// the "Invalid request from ip=..." log line, with control characters escaped); <see cref="Detail"/> is
/// the sentence for the error page. The connection must be closed after answering.
/// </summary>
public sealed class BadHttpRequestException : Exception
{
    internal BadHttpRequestException(RequestRejectionReason reason, string message, string detail)
        : base(message)
    {
        Reason = reason;
        Detail = detail;
    }

    public RequestRejectionReason Reason { get; }

    /// <summary>400, 403, 417, 431, 501, or 500 for a path outside SCRIPT_NAME (Gunicorn 26.1's ConfigurationProblem).</summary>
    public int StatusCode => StatusOf(Reason);

    /// <summary>The HTTP reason phrase Gunicorn sends with <see cref="StatusCode"/>.</summary>
    public string ReasonPhrase => StatusCode switch
    {
        403 => "Forbidden",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Bad Request",
    };

    /// <summary>Gunicorn's exception class name for this error (the corpus's <c>error</c> field).</summary>
    public string GunicornError => GunicornErrorOf(Reason);

    /// <summary>The body text of the error page (not yet HTML-escaped).</summary>
    public string Detail { get; }

    /// <summary>
    /// The head of the refused request when it was refused for its body framing (Content-Length, Transfer-Encoding)
    /// or a repeated singleton field, after its request line and fields were read: Gunicorn's
    /// <c>InvalidHeader(..., req=self)</c>, whose <c>exc.req</c> its <c>handle_error</c> writes an access line for.
    /// Null for every other refusal. Set by the parser as the exception leaves it; the head is the parser's (a
    /// connection's reused one): read it before the connection goes on.
    /// </summary>
    public RequestHead? Head { get; internal set; }

    /// <summary>The refusals that carry their <see cref="Head"/> (Gunicorn's <c>InvalidHeader</c> raised with <c>req</c>).</summary>
    internal static bool CarriesHead(RequestRejectionReason reason) => reason is RequestRejectionReason.DuplicateSingletonHeader
        or RequestRejectionReason.DuplicateContentLength or RequestRejectionReason.InvalidContentLength
        or RequestRejectionReason.ContentLengthWithTransferEncoding or RequestRejectionReason.ChunkedNotLast
        or RequestRejectionReason.ChunkedTwice or RequestRejectionReason.ChunkedOnHttp10
        or RequestRejectionReason.TransferCodingWithoutChunked;

    /// <summary>True when the client simply went away mid-request: close without answering.</summary>
    public bool IsEndOfInput => Reason == RequestRejectionReason.UnexpectedEndOfInput;

    /// <summary>The error-log warning Gunicorn writes for a rejection; <paramref name="ip"/> is "" for a unix socket.</summary>
    public string LogMessage(string? ip) => $"Invalid request from ip={ip}: {Message}";

    /// <summary>Gunicorn's error response for this rejection, ready to write before closing.</summary>
    public byte[] BuildResponse() => ErrorResponse.Build(StatusCode, ReasonPhrase, Detail);

    public static int StatusOf(RequestRejectionReason reason) => reason switch
    {
        RequestRejectionReason.TooManyHeaders or RequestRejectionReason.HeaderFieldTooLarge
            or RequestRejectionReason.HeaderSectionTooLarge => 431,
        RequestRejectionReason.UnsupportedTransferCoding => 501,
        RequestRejectionReason.ExpectationFailed => 417,
        RequestRejectionReason.ForbiddenProxyRequest => 403,
        RequestRejectionReason.PathOutsideScriptName => 500,
        _ => 400,
    };

    public static string GunicornErrorOf(RequestRejectionReason reason) => reason switch
    {
        RequestRejectionReason.UnexpectedEndOfInput => "NoMoreData",
        RequestRejectionReason.InvalidRequestLine or RequestRejectionReason.EmptyRequestTarget
            or RequestRejectionReason.InvalidRequestTarget or RequestRejectionReason.AsteriskFormWithoutOptions
            or RequestRejectionReason.AuthorityFormWithoutConnect => "InvalidRequestLine",
        RequestRejectionReason.InvalidRequestMethod => "InvalidRequestMethod",
        RequestRejectionReason.InvalidHttpVersion or RequestRejectionReason.UnsupportedHttpVersion => "InvalidHTTPVersion",
        RequestRejectionReason.RequestLineTooLong => "LimitRequestLine",
        RequestRejectionReason.InvalidHeaderName or RequestRejectionReason.UnderscoreInHeaderName
            or RequestRejectionReason.ForbiddenTrailerField => "InvalidHeaderName",
        RequestRejectionReason.ObsoleteFolding => "ObsoleteFolding",
        RequestRejectionReason.TooManyHeaders or RequestRejectionReason.HeaderFieldTooLarge
            or RequestRejectionReason.HeaderSectionTooLarge => "LimitRequestHeaders",
        RequestRejectionReason.ExpectationFailed => "ExpectationFailed",
        RequestRejectionReason.ConflictingSchemeHeaders => "InvalidSchemeHeaders",
        RequestRejectionReason.PathOutsideScriptName => "ConfigurationProblem",
        RequestRejectionReason.UnsupportedTransferCoding => "UnsupportedTransferCoding",
        RequestRejectionReason.InvalidChunkSize or RequestRejectionReason.ChunkSizeOverflow => "InvalidChunkSize",
        RequestRejectionReason.InvalidChunkExtension => "InvalidChunkExtension",
        RequestRejectionReason.ChunkMissingTerminator => "ChunkMissingTerminator",
        RequestRejectionReason.InvalidProxyLine => "InvalidProxyLine",
        RequestRejectionReason.InvalidProxyHeader => "InvalidProxyHeader",
        RequestRejectionReason.ForbiddenProxyRequest => "ForbiddenProxyRequest",
        _ => "InvalidHeader",
    };
}
