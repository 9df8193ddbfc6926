using System.Buffers;
using System.Net;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge;

internal sealed unsafe partial class PythonWsgiThread
{
    private const int MaxCachedHeaderKeys = 256;

    // HTTP_* keys by header name as sent; per thread, so no locking.
    private readonly Dictionary<string, nint> _headerKeys = new(StringComparer.Ordinal);

    // The previous request's values: keep-alive connections repeat them.
    private string? _lastServerName, _lastServerPort;
    private nint _serverNameValue, _serverPortValue;
    private IPAddress? _lastRemoteAddress;
    private nint _remoteAddressValue;
    private int _lastRemotePort;
    private nint _remotePortValue;

    /// <summary>environ for one request: a copy of the constant part plus the request's keys. New reference, or 0 with a Python error set.</summary>
    private nint BuildEnviron(WsgiRequest request)
    {
        var env = CPython.PyDict_Copy(_app.BaseEnviron);
        if (env == 0)
        {
            return 0;
        }

        if (!FillEnviron(env, request))
        {
            CPython.Py_DecRef(env);
            return 0;
        }

        return env;
    }

    private bool FillEnviron(nint env, WsgiRequest request)
    {
        var k = _keys;
        var method = k.KnownMethod(request.Method);
        if (!(method != 0 ? SetBorrowed(env, k.RequestMethod, method) : SetNew(env, k.RequestMethod, request.Method)))
        {
            return false;
        }

        var scriptName = CgiPath.ScriptName(request, _app.DefaultScriptName);
        if (!SetOwned(env, k.PathInfo, PercentDecode(CgiPath.RawPathInfo(request.Path, scriptName)))
            || (scriptName.Length > 0 && !SetNew(env, k.ScriptName, scriptName))
            || !SetNew(env, k.QueryString, request.Query)
            || !SetNew(env, k.RawUri, request.RawUri)
            || !SetBorrowed(env, k.ServerName, Cached(request.ServerName, ref _lastServerName, ref _serverNameValue))
            || !SetBorrowed(env, k.ServerPort, Cached(request.ServerPort, ref _lastServerPort, ref _serverPortValue))
            || !SetProtocol(env, request)
            || !SetRemote(env, request.RemoteEndPoint)
            || !SetBorrowed(env, k.UrlScheme, request.UrlScheme == "https" ? k.Https : request.UrlScheme == "http" ? k.Http : 0, request.UrlScheme)
            || !SetInput(env, request.Body))
        {
            return false;
        }

        var headers = request.Headers;
        for (var i = 0; i < headers.Count; i++)
        {
            if (!SetHeader(env, headers[i].Key, headers[i].Value))
            {
                return false;
            }
        }

        // Gunicorn 26.1 marks an HTTP/2 request with HTTP_VERSION "2", set after the headers (a client's Version header
        // does not change it).
        if (request.Protocol == "HTTP/2" && !SetBorrowed(env, k.HttpVersion, k.Two))
        {
            return false;
        }

        if (request.ExtraEnviron is { } extra)
        {
            foreach (var (key, value) in extra)
            {
                var keyObject = CPython.FromLatin1Chars(key);
                if (keyObject == 0)
                {
                    return false;
                }

                var ok = SetNew(env, keyObject, value);
                CPython.Py_DecRef(keyObject);
                if (!ok)
                {
                    return false;
                }
            }
        }

        return true;
    }

    private bool SetProtocol(nint env, WsgiRequest request) => request.Protocol switch
    {
        "HTTP/1.1" => SetBorrowed(env, _keys.ServerProtocol, _keys.Http11),
        "HTTP/1.0" => SetBorrowed(env, _keys.ServerProtocol, _keys.Http10),
        // Trailers are an HTTP/2 response's only (Gunicorn 26 offers them there alone).
        "HTTP/2" => SetBorrowed(env, _keys.ServerProtocol, _keys.Http2) && SetBorrowed(env, _keys.Http2SendTrailers, _app.SendTrailers),
        _ => SetNew(env, _keys.ServerProtocol, request.Protocol),
    };

    private bool SetRemote(nint env, IPEndPoint? remote)
    {
        if (remote is null)
        {
            return SetBorrowed(env, _keys.RemoteAddr, _keys.Empty); // a unix-socket peer, as Gunicorn reports it
        }

        if (!remote.Address.Equals(_lastRemoteAddress))
        {
            CPython.XDecRef(_remoteAddressValue);
            _remoteAddressValue = 0;
            _lastRemoteAddress = null;
            var value = CPython.FromLatin1Chars(remote.Address.ToString());
            if (value == 0)
            {
                return false;
            }

            _remoteAddressValue = value;
            _lastRemoteAddress = remote.Address;
        }

        if (remote.Port != _lastRemotePort || _remotePortValue == 0)
        {
            Span<char> port = stackalloc char[8];
            remote.Port.TryFormat(port, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
            var value = CPython.FromLatin1Chars(port[..written]);
            if (value == 0)
            {
                return false;
            }

            CPython.XDecRef(_remotePortValue);
            _remotePortValue = value;
            _lastRemotePort = remote.Port;
        }

        return SetBorrowed(env, _keys.RemoteAddr, _remoteAddressValue) && SetBorrowed(env, _keys.RemotePort, _remotePortValue);
    }

    private bool SetInput(nint env, RequestBody body)
    {
        nint input;
        var isBuffered = body.TryGetBufferedSequence(out var buffered);
        if (isBuffered && buffered.IsEmpty)
        {
            return CPython.PyDict_SetItem(env, _keys.Input, _app.EmptyInput) == 0;
        }

        var held = 0;
        if (isBuffered || body.TryGetHeldLength(out held))
        {
            // One copy: from wherever the body lies (the connection's receive buffers; a chunked body still in its
            // framing, decoded on the way) into a new bytes object, which BytesIO then shares rather than copies.
            var length = isBuffered ? checked((int)buffered.Length) : held;
            var bytes = CPython.NewBytes(length, out var destination);
            if (bytes == 0)
            {
                return false;
            }

            if (isBuffered)
            {
                buffered.CopyTo(new Span<byte>(destination, length));
            }
            else
            {
                body.CopyHeldTo(new Span<byte>(destination, length));
            }

            var args = stackalloc nint[1] { bytes };
            input = CPython.PyObject_Vectorcall(_app.BufferedInput, args, 1, 0);
            CPython.Py_DecRef(bytes);
        }
        else
        {
            var token = CPython.PyLong_FromLongLong(_token);
            if (token == 0)
            {
                return false;
            }

            var args = stackalloc nint[1] { token };
            input = CPython.PyObject_Vectorcall(_app.StreamInputType, args, 1, 0);
            CPython.Py_DecRef(token);
        }

        if (input == 0)
        {
            return false;
        }

        var ok = CPython.PyDict_SetItem(env, _keys.Input, input) == 0;
        CPython.Py_DecRef(input);
        return ok;
    }

    private bool SetHeader(nint env, string name, string value)
    {
        if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
        {
            return SetNew(env, _keys.ContentType, value);
        }

        if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
        {
            return SetNew(env, _keys.ContentLength, value);
        }

        var key = HeaderKey(name, out var owned);
        if (key == 0)
        {
            return false;
        }

        try
        {
            var existing = CPython.PyDict_GetItemWithError(env, key);
            if (existing == 0)
            {
                return CPython.PyErr_Occurred() == 0 && SetNew(env, key, value);
            }

            // A repeated header: Gunicorn joins the values with ",".
            var withComma = CPython.PyUnicode_Concat(existing, _keys.Comma);
            if (withComma == 0)
            {
                return false;
            }

            var next = CPython.FromLatin1Chars(value);
            var joined = next == 0 ? 0 : CPython.PyUnicode_Concat(withComma, next);
            CPython.Py_DecRef(withComma);
            CPython.XDecRef(next);
            if (joined == 0)
            {
                return false;
            }

            var ok = CPython.PyDict_SetItem(env, key, joined) == 0;
            CPython.Py_DecRef(joined);
            return ok;
        }
        finally
        {
            if (owned)
            {
                CPython.Py_DecRef(key);
            }
        }
    }

    /// <summary>"HTTP_" + the name upper-cased with '-' as '_'; cached (borrowed) unless the cache is full (then owned).</summary>
    private nint HeaderKey(string name, out bool owned)
    {
        owned = false;
        if (_headerKeys.TryGetValue(name, out var cached))
        {
            return cached;
        }

        var length = 5 + name.Length;
        var rented = length > 256 ? ArrayPool<char>.Shared.Rent(length) : null;
        var chars = rented is null ? stackalloc char[length] : rented.AsSpan(0, length);
        "HTTP_".CopyTo(chars);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            chars[5 + i] = c == '-' ? '_' : c is >= 'a' and <= 'z' ? (char)(c - 32) : c;
        }

        var key = CPython.FromLatin1Chars(chars);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }

        if (key == 0 || _headerKeys.Count >= MaxCachedHeaderKeys)
        {
            owned = key != 0;
            return key;
        }

        _headerKeys[name] = key;
        return key;
    }

    /// <summary>PATH_INFO to a Python str (<see cref="CgiPath.PercentDecode(ReadOnlySpan{char}, Span{char})"/>).</summary>
    private static nint PercentDecode(ReadOnlySpan<char> path)
    {
        if (!path.Contains('%'))
        {
            return CPython.FromLatin1Chars(path);
        }

        var rented = path.Length > 512 ? ArrayPool<char>.Shared.Rent(path.Length) : null;
        var output = rented is null ? stackalloc char[path.Length] : rented.AsSpan(0, path.Length);
        var result = CPython.FromLatin1Chars(output[..CgiPath.PercentDecode(path, output)]);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }

        return result;
    }

    private static nint Cached(string value, ref string? last, ref nint pyValue)
    {
        if (!ReferenceEquals(value, last) && value != last)
        {
            var fresh = CPython.FromLatin1Chars(value);
            if (fresh == 0)
            {
                return 0;
            }

            CPython.XDecRef(pyValue);
            pyValue = fresh;
            last = value;
        }

        return pyValue;
    }

    private static bool SetNew(nint env, nint key, ReadOnlySpan<char> value)
    {
        var v = CPython.FromLatin1Chars(value);
        if (v == 0)
        {
            return false;
        }

        var ok = CPython.PyDict_SetItem(env, key, v) == 0;
        CPython.Py_DecRef(v);
        return ok;
    }

    private static bool SetOwned(nint env, nint key, nint value)
    {
        if (value == 0)
        {
            return false;
        }

        var ok = CPython.PyDict_SetItem(env, key, value) == 0;
        CPython.Py_DecRef(value);
        return ok;
    }

    private static bool SetBorrowed(nint env, nint key, nint value) =>
        value != 0 && CPython.PyDict_SetItem(env, key, value) == 0;

    private static bool SetBorrowed(nint env, nint key, nint value, string fallback) =>
        value != 0 ? CPython.PyDict_SetItem(env, key, value) == 0 : SetNew(env, key, fallback);

    private void ReleaseCaches()
    {
        foreach (var key in _headerKeys.Values)
        {
            CPython.Py_DecRef(key);
        }

        _headerKeys.Clear();
        CPython.XDecRef(_serverNameValue);
        CPython.XDecRef(_serverPortValue);
        CPython.XDecRef(_remoteAddressValue);
        CPython.XDecRef(_remotePortValue);
        _serverNameValue = _serverPortValue = _remoteAddressValue = _remotePortValue = 0;
    }
}
