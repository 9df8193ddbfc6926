using System.Text;
using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge.Asgi;

/// <summary>
/// Builds an http scope dict through the C API (<c>fast.http_scope</c>): keys and constant values are interned once
/// per process, headers become (bytes, bytes) tuples straight from the request's strings. Python used to build the
/// same dict from a tuple of fields, a split of the joined headers and a list comprehension: about twenty calls per
/// request on the loop thread, which is what bounds a worker's ASGI throughput.
/// </summary>
internal static unsafe class AsgiHttpScope
{
    private static nint s_type, s_asgi, s_httpVersion, s_method, s_scheme, s_path, s_rawPath, s_queryString, s_rootPath;
    private static nint s_headers, s_client, s_server, s_extensions;
    private static nint s_http, s_https, s_v10, s_v11, s_v2, s_pathsend, s_trailers;
    private static nint s_asgiTemplate; // {"version": "3.0", "spec_version": "2.4"}, copied per scope as before
    private static nint s_unquote; // urllib.parse.unquote, for a path with percent-escapes (its exact decoding rules)

    /// <summary>Interns the keys and constants (GIL held; once per process, idempotent).</summary>
    public static void Initialize()
    {
        if (s_type != 0)
        {
            return;
        }

        s_asgi = CPython.Intern("asgi");
        s_httpVersion = CPython.Intern("http_version");
        s_method = CPython.Intern("method");
        s_scheme = CPython.Intern("scheme");
        s_path = CPython.Intern("path");
        s_rawPath = CPython.Intern("raw_path");
        s_queryString = CPython.Intern("query_string");
        s_rootPath = CPython.Intern("root_path");
        s_headers = CPython.Intern("headers");
        s_client = CPython.Intern("client");
        s_server = CPython.Intern("server");
        s_extensions = CPython.Intern("extensions");
        s_http = CPython.Intern("http");
        s_https = CPython.Intern("https");
        s_v10 = CPython.Intern("1.0");
        s_v11 = CPython.Intern("1.1");
        s_v2 = CPython.Intern("2");
        s_pathsend = CPython.Intern("http.response.pathsend");
        s_trailers = CPython.Intern("http.response.trailers");
        s_asgiTemplate = CPython.PyDict_New();
        if (s_asgiTemplate == 0
            || !Put(s_asgiTemplate, CPython.Intern("version"), CPython.Intern("3.0"))
            || !Put(s_asgiTemplate, CPython.Intern("spec_version"), CPython.Intern("2.4")))
        {
            CPython.PyErr_Clear();
            throw new InvalidOperationException("cannot build the ASGI scope constants");
        }

        using (var parse = Py.Import("urllib.parse"))
        using (var unquote = parse.GetAttr("unquote"))
        {
            s_unquote = CPython.NewRef(Handles.Of(unquote));
        }

        s_type = CPython.Intern("type"); // last: it marks the rest as ready
    }

    /// <summary>
    /// The scope of an http request: every key Python's <c>_Request.scope</c> adds except <c>state</c>. A new
    /// reference, or 0 with a Python error set.
    /// </summary>
    public static nint Build(PythonAsgiExchange exchange, string rootPath)
    {
        var request = exchange.Request;
        var scope = CPython.PyDict_New();
        if (scope == 0)
        {
            return 0;
        }

        var version = request.Protocol switch
        {
            "HTTP/2" => s_v2,
            "HTTP/1.0" => s_v10,
            _ => s_v11,
        };
        var scheme = request.UrlScheme switch
        {
            "http" => CPython.NewRef(s_http),
            "https" => CPython.NewRef(s_https),
            var other => CPython.FromLatin1Chars(other),
        };
        var path = request.Path;
        var (host, port) = exchange.Client();
        var ok = Put(scope, s_type, CPython.NewRef(s_http))
            && Put(scope, s_asgi, CPython.PyDict_Copy(s_asgiTemplate))
            && Put(scope, s_httpVersion, CPython.NewRef(version))
            && Put(scope, s_method, CPython.FromLatin1Chars(request.Method))
            && Put(scope, s_scheme, scheme)
            && Put(scope, s_path, DecodedPath(path))
            && Put(scope, s_rawPath, Latin1Bytes(path, lower: false))
            && Put(scope, s_queryString, Latin1Bytes(request.Query, lower: false))
            && Put(scope, s_rootPath, CPython.FromLatin1Chars(rootPath.Length > 0 ? rootPath : request.ScriptName))
            && Put(scope, s_headers, Headers(request.Headers))
            && Put(scope, s_client, host is null ? CPython.NewRef(CPython.Py_None) : Pair(CPython.FromLatin1Chars(host), port))
            && Put(scope, s_server, Pair(CPython.FromLatin1Chars(request.ServerName), exchange.ServerPort))
            && Put(scope, s_extensions, Extensions(version == s_v2));
        if (!ok)
        {
            CPython.Py_DecRef(scope);
            return 0;
        }

        return scope;
    }

    // PyDict_SetItem does not steal: this does, so each Put reads as one line. A null value (an allocation that
    // failed, error set) fails the scope.
    private static bool Put(nint dict, nint key, nint value)
    {
        if (value == 0)
        {
            return false;
        }

        var failed = CPython.PyDict_SetItem(dict, key, value) != 0;
        CPython.Py_DecRef(value);
        return !failed;
    }

    private static nint DecodedPath(string path)
    {
        if (!Ascii.IsValid(path))
        {
            return Utf8DecodedPath(path);
        }

        var raw = CPython.FromLatin1Chars(path);
        if (raw == 0 || !path.Contains('%'))
        {
            return raw;
        }

        // As before: urllib.parse.unquote's rules (UTF-8, invalid sequences replaced, non-ASCII runs kept).
        var args = stackalloc nint[1] { raw };
        var decoded = CPython.PyObject_Vectorcall(s_unquote, args, 1, 0);
        CPython.Py_DecRef(raw);
        return decoded;
    }

    /// <summary>
    /// A target with raw non-ASCII bytes (curl sends "/café" unescaped; the path's chars are its bytes as latin-1):
    /// percent-decoded to bytes, then read as UTF-8 with invalid sequences replaced, as the spec's "UTF-8 byte
    /// sequences decoded into characters" and Gunicorn 26.1's <c>unquote_to_bytes(path).decode("utf-8", "replace")</c>.
    /// </summary>
    private static nint Utf8DecodedPath(string path)
    {
        // Rare (a client sent raw bytes), so plainly: percent-decoded, the latin-1 chars back to their bytes, UTF-8.
        var bytes = Encoding.Latin1.GetBytes(CgiPath.PercentDecode(path));
        fixed (byte* p = bytes)
        fixed (byte* errors = "replace\0"u8)
        {
            return CPython.PyUnicode_DecodeUTF8(p, bytes.Length, errors);
        }
    }

    private static nint Headers(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var list = CPython.PyList_New(headers.Count);
        if (list == 0)
        {
            return 0;
        }

        for (var i = 0; i < headers.Count; i++)
        {
            var (name, value) = headers[i];
            var pair = Tuple(Latin1Bytes(name, lower: true), Latin1Bytes(value, lower: false));
            if (pair == 0 || CPython.PyList_SetItem(list, i, pair) != 0) // steals pair
            {
                CPython.Py_DecRef(list);
                return 0;
            }
        }

        return list;
    }

    private static nint Extensions(bool http2)
    {
        var extensions = CPython.PyDict_New();
        if (extensions == 0)
        {
            return 0;
        }

        if (!Put(extensions, s_pathsend, CPython.PyDict_New())
            || (http2 && !Put(extensions, s_trailers, CPython.PyDict_New()))) // as Gunicorn 26: over HTTP/2 only
        {
            CPython.Py_DecRef(extensions);
            return 0;
        }

        return extensions;
    }

    private static nint Pair(nint first, int port) => Tuple(first, CPython.PyLong_FromLongLong(port));

    /// <summary>A 2-tuple that takes over both items (new references); 0 with an error set if any is missing.</summary>
    private static nint Tuple(nint first, nint second)
    {
        var tuple = first == 0 || second == 0 ? 0 : CPython.PyTuple_New(2);
        if (tuple == 0)
        {
            CPython.XDecRef(first);
            CPython.XDecRef(second);
            return 0;
        }

        CPython.PyTuple_SetItem(tuple, 0, first);
        CPython.PyTuple_SetItem(tuple, 1, second);
        return tuple;
    }

    /// <summary>Bytes of a string of latin-1 chars (as Python's <c>encode("latin-1")</c>), ASCII lowercased when asked.</summary>
    private static nint Latin1Bytes(string text, bool lower)
    {
        var bytes = CPython.PyBytes_FromStringAndSize(null, text.Length);
        if (bytes == 0)
        {
            return 0;
        }

        byte* p;
        nint n;
        CPython.PyBytes_AsStringAndSize(bytes, &p, &n);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            p[i] = (byte)(lower && c is >= 'A' and <= 'Z' ? c | 0x20 : c);
        }

        return bytes;
    }
}
