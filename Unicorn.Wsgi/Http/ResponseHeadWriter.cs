using System.Buffers;
using System.Text;

namespace Unicorn.Wsgi.Http;

/// <summary>
/// Writes responses in HTTP/1.x framing. Pure functions over an <see cref="IBufferWriter{T}"/>; no socket.
/// How the worker uses it, per response:
/// <code>
/// // before reading the body, as Gunicorn does when it builds environ:
/// if (ResponseHeadWriter.NeedsContinue(requestHead)) output.Write(ResponseHeadWriter.ContinueResponse);
/// // start_response / IResponseSink.SetResponse (may be called again until the head is written):
/// var framing = ResponseFraming.Create(status, appHeaders, requestHead, forceClose: shuttingDown);
///                                       // throws InvalidResponseException -> 500, nothing sent
/// // first body bytes, or the end of the response, whichever comes first:
/// ResponseHeadWriter.WriteHead(output, framing, requestHead);
/// // each body chunk from the app (cut to Content-Length, dropped for HEAD/1xx/204/304,
/// // chunk-encoded when framing.Chunked):
/// ResponseHeadWriter.WriteBody(output, framing, data);
/// // end of the response:
/// ResponseHeadWriter.WriteEnd(output, framing);   // "0\r\n\r\n" when chunked
/// // then close the connection unless framing.KeepAlive &amp;&amp; framing.EndsCleanly.
/// </code>
/// The head is the status line with the request's HTTP version (as Gunicorn), <c>Server: unicorn</c>,
/// <c>Date</c> (cached per second), <c>Connection</c>, <c>Transfer-Encoding: chunked</c> when chunked,
/// then the app's headers in order. An HTTP/1.0 response without Content-Length is close-delimited.
/// </summary>
public static class ResponseHeadWriter
{
    public const string ServerName = "unicorn";

    /// <summary>The interim response sent before reading the body of a request with <see cref="RequestHead.ExpectContinue"/>.</summary>
    public static ReadOnlySpan<byte> ContinueResponse => "HTTP/1.1 100 Continue\r\n\r\n"u8;

    /// <summary>True when <see cref="ContinueResponse"/> goes out before the body: an HTTP/1.1 request that asked for it and has one.</summary>
    public static bool NeedsContinue(RequestHead head)
    {
        ArgumentNullException.ThrowIfNull(head);
        return head.ExpectContinue && head.VersionMinor >= 1 && (head.ContentLength > 0 || head.IsChunked);
    }

    /// <summary>
    /// Writes a <c>103 Early Hints</c> interim response carrying <paramref name="headers"/> (values trimmed of
    /// SP/HTAB), after checking all of them as Gunicorn does, so nothing is written for a bad one.
    /// </summary>
    /// <exception cref="Application.InvalidResponseException">a name is not a token, or a value holds CR, LF or another control.</exception>
    public static void WriteEarlyHints(IBufferWriter<byte> output, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(headers);
        foreach (var (name, value) in headers)
        {
            if (name is null || !HttpChars.IsToken(name))
            {
                throw new Application.InvalidResponseException($"invalid header name {HttpRejection.Repr(name ?? "None")}");
            }

            if (value is null || !ResponseFraming.IsFieldValue(value))
            {
                // The value is left out: it may hold what the app meant to keep private.
                throw new Application.InvalidResponseException($"invalid value for header {name}");
            }
        }

        Write(output, "HTTP/1.1 103 Early Hints\r\n"u8);
        foreach (var (name, value) in headers)
        {
            WriteLatin1(output, name);
            Write(output, ": "u8);
            WriteLatin1(output, value.Trim(' ', '\t'));
            Write(output, "\r\n"u8);
        }

        Write(output, "\r\n"u8);
    }

    private static byte[] s_serverLine = "\r\nServer: unicorn\r\nDate: "u8.ToArray();

    /// <summary>The Server header's value from now on, for the whole process (Settings.ServerName, once, as a worker
    /// starts).</summary>
    public static void UseServerName(string name) =>
        s_serverLine = System.Text.Encoding.Latin1.GetBytes("\r\nServer: " + name + "\r\nDate: ");

    /// <summary>Writes the status line and header section, ending with the empty line.</summary>
    public static void WriteHead(IBufferWriter<byte> output, ResponseFraming framing, RequestHead request)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(framing);
        ArgumentNullException.ThrowIfNull(request);
        WriteLatin1(output, request.VersionMajor == 1 && request.VersionMinor <= 1 ? request.Protocol : "HTTP/1.1");
        WriteLatin1(output, " ");
        WriteLatin1(output, framing.Status);
        Write(output, s_serverLine);
        Write(output, HttpDate.NowBytes());
        Write(output, "\r\nConnection: "u8);
        WriteLatin1(output, framing.ConnectionValue);
        Write(output, "\r\n"u8);
        if (framing.Chunked)
        {
            Write(output, "Transfer-Encoding: chunked\r\n"u8);
        }
        foreach (var (name, value) in framing.Headers)
        {
            WriteLatin1(output, name);
            Write(output, ": "u8);
            WriteLatin1(output, value);
            Write(output, "\r\n"u8);
        }
        Write(output, "\r\n"u8);
    }

    /// <summary>Writes body bytes as the framing allows; returns how many of <paramref name="data"/> went out.</summary>
    public static int WriteBody(IBufferWriter<byte> output, ResponseFraming framing, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(framing);
        var n = framing.Admit(data.Length);
        if (n == 0)
        {
            // An empty chunk would end a chunked body early.
            return 0;
        }
        if (framing.Chunked)
        {
            ChunkedEncoder.WriteChunk(output, data[..n]);
        }
        else
        {
            Write(output, data[..n]);
        }
        return n;
    }

    /// <summary>Ends the body: the last chunk and empty trailer section when chunked, nothing otherwise.</summary>
    public static void WriteEnd(IBufferWriter<byte> output, ResponseFraming framing)
    {
        ArgumentNullException.ThrowIfNull(framing);
        if (framing.Chunked)
        {
            ChunkedEncoder.WriteLastChunk(output);
        }
    }

    internal static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        var span = output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        output.Advance(bytes.Length);
    }

    // Callers pass validated latin-1 text (one byte per char).
    private static void WriteLatin1(IBufferWriter<byte> output, string s)
    {
        var span = output.GetSpan(s.Length);
        var n = Encoding.Latin1.GetBytes(s, span);
        output.Advance(n);
    }
}
