using Unicorn.PythonBridge.Native;

namespace Unicorn.PythonBridge;

/// <summary>Interned environ keys, attribute names and frequent values, created once per process (GIL held).</summary>
internal sealed class EnvironKeys
{
    public readonly nint RequestMethod = CPython.Intern("REQUEST_METHOD");
    public readonly nint ScriptName = CPython.Intern("SCRIPT_NAME");
    public readonly nint PathInfo = CPython.Intern("PATH_INFO");
    public readonly nint QueryString = CPython.Intern("QUERY_STRING");
    public readonly nint RawUri = CPython.Intern("RAW_URI");
    public readonly nint ServerName = CPython.Intern("SERVER_NAME");
    public readonly nint ServerPort = CPython.Intern("SERVER_PORT");
    public readonly nint ServerProtocol = CPython.Intern("SERVER_PROTOCOL");
    public readonly nint RemoteAddr = CPython.Intern("REMOTE_ADDR");
    public readonly nint RemotePort = CPython.Intern("REMOTE_PORT");
    public readonly nint ContentType = CPython.Intern("CONTENT_TYPE");
    public readonly nint ContentLength = CPython.Intern("CONTENT_LENGTH");
    public readonly nint UrlScheme = CPython.Intern("wsgi.url_scheme");
    public readonly nint Input = CPython.Intern("wsgi.input");

    // Attribute names.
    public readonly nint Pending = CPython.Intern("pending");
    public readonly nint Close = CPython.Intern("close");

    // Values worth sharing.
    public readonly nint Empty = CPython.Intern("");
    public readonly nint Comma = CPython.Intern(",");
    public readonly nint Http = CPython.Intern("http");
    public readonly nint Https = CPython.Intern("https");
    public readonly nint Http11 = CPython.Intern("HTTP/1.1");
    public readonly nint Http10 = CPython.Intern("HTTP/1.0");
    public readonly nint Http2 = CPython.Intern("HTTP/2");
    public readonly nint Http2SendTrailers = CPython.Intern("gunicorn.http2.send_trailers");
    public readonly nint HttpVersion = CPython.Intern("HTTP_VERSION");
    public readonly nint Two = CPython.Intern("2");

    private readonly Dictionary<string, nint> _methods = new(StringComparer.Ordinal);

    public EnvironKeys()
    {
        foreach (var method in new[] { "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS" })
        {
            _methods[method] = CPython.Intern(method);
        }
    }

    /// <summary>A borrowed str for a common method, else 0.</summary>
    public nint KnownMethod(string method) => _methods.GetValueOrDefault(method);
}
