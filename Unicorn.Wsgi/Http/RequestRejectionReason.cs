namespace Unicorn.Wsgi.Http;

/// <summary>
/// Why a request was refused. Each reason belongs to one of Gunicorn's error classes
/// (<see cref="BadHttpRequestException.GunicornError"/>) and has one status code.
/// </summary>
public enum RequestRejectionReason
{
    /// <summary>The peer closed the connection in the middle of a request (NoMoreData).</summary>
    UnexpectedEndOfInput,

    // Request line (InvalidRequestLine, InvalidRequestMethod, InvalidHTTPVersion, LimitRequestLine).
    InvalidRequestLine,
    EmptyRequestTarget,
    InvalidRequestTarget,
    AsteriskFormWithoutOptions,
    AuthorityFormWithoutConnect,
    InvalidRequestMethod,
    InvalidHttpVersion,
    UnsupportedHttpVersion,
    RequestLineTooLong,

    // Header fields (InvalidHeader, InvalidHeaderName, ObsoleteFolding, LimitRequestHeaders).
    MissingHeaderColon,
    InvalidHeaderName,
    InvalidHeaderValue,
    UnderscoreInHeaderName,
    ForbiddenTrailerField,
    DuplicateSingletonHeader,
    ObsoleteFolding,
    TooManyHeaders,
    HeaderFieldTooLarge,
    HeaderSectionTooLarge,
    ExpectationFailed,
    ConflictingSchemeHeaders,
    PathOutsideScriptName,

    // Body framing (InvalidHeader, UnsupportedTransferCoding).
    DuplicateContentLength,
    InvalidContentLength,
    ContentLengthWithTransferEncoding,
    ChunkedNotLast,
    ChunkedTwice,
    ChunkedOnHttp10,
    TransferCodingWithoutChunked,
    UnsupportedTransferCoding,

    // Chunked body (InvalidChunkSize, InvalidChunkExtension, ChunkMissingTerminator).
    InvalidChunkSize,
    ChunkSizeOverflow,
    InvalidChunkExtension,
    ChunkMissingTerminator,

    // PROXY protocol (InvalidProxyLine, InvalidProxyHeader, ForbiddenProxyRequest).
    InvalidProxyLine,
    InvalidProxyHeader,
    ForbiddenProxyRequest,
}
