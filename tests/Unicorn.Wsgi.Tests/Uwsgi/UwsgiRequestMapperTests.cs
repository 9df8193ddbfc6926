using System.Buffers;
using System.Net;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Uwsgi;

namespace Unicorn.Wsgi.Tests.Uwsgi;

public sealed class UwsgiRequestMapperTests
{
    private static readonly IPEndPoint Nginx = new(IPAddress.Loopback, 40000);

    private static UwsgiPacket Parse(byte[] data)
    {
        var packet = new UwsgiPacket();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(data));
        Assert.True(UwsgiPacketParser.TryParse(ref reader, packet));
        return packet;
    }

    private static WsgiRequest Map(byte[] data, string scheme = "http", string defaultScriptName = "") =>
        UwsgiRequestMapper.Build(Parse(data), RequestBody.Empty, ("127.0.0.1", "8000"), scheme, Nginx, defaultScriptName, null);

    private static string? Extra(WsgiRequest r, string key) => r.ExtraEnviron?.LastOrDefault(p => p.Key == key).Value;

    [Fact]
    public void Nginx_uwsgi_params_become_the_request()
    {
        var r = Map(UwsgiPackets.Request("POST", "/a b/c", "x=1&y=%41", "hi", ("HTTP_X_FORWARDED_FOR", "198.51.100.1"), ("HTTP_ACCEPT_ENCODING", "gzip")));
        Assert.Equal("POST", r.Method);
        Assert.Equal("/a b/c", r.Path);
        Assert.Equal("x=1&y=%41", r.Query);
        Assert.Equal("/a%20b/c?x=1&y=%41", r.RawUri);
        Assert.Equal("HTTP/1.1", r.Protocol);
        Assert.Equal("example.org", r.ServerName);
        Assert.Equal("80", r.ServerPort);
        Assert.Equal("http", r.UrlScheme);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 51234), r.RemoteEndPoint);
        Assert.Contains(new KeyValuePair<string, string>("X-FORWARDED-FOR", "198.51.100.1"), r.Headers);
        Assert.Contains(new KeyValuePair<string, string>("ACCEPT-ENCODING", "gzip"), r.Headers);
        Assert.Contains(new KeyValuePair<string, string>("Content-Type", "text/plain"), r.Headers);
        Assert.Contains(new KeyValuePair<string, string>("Content-Length", "2"), r.Headers);
        Assert.Equal("/srv/www", Extra(r, "DOCUMENT_ROOT"));
        Assert.Equal("/a b/c?x=1&y=%41", Extra(r, "REQUEST_URI"));
        Assert.False(r.WantsClose);
    }

    [Fact]
    public void Nginx_http_content_vars_beside_the_cgi_ones_are_one_header_each()
    {
        // nginx passes the client's Content-Type/Length as HTTP_CONTENT_* too, beside uwsgi_params' CONTENT_*: as two
        // headers each, an ASGI scope (and tornado's WSGIContainer, which read Content-Length '3,3' as no body) saw both.
        var r = Map(UwsgiPackets.Request("POST", "/", "", "a=1", ("HTTP_CONTENT_TYPE", "text/plain"), ("HTTP_CONTENT_LENGTH", "3")));
        Assert.Equal(["3"], r.Headers.Where(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value));
        Assert.Equal(["text/plain"], r.Headers.Where(h => h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value));
    }

    [Fact]
    public void The_clients_transfer_encoding_is_not_passed_on_beside_the_content_length_nginx_framed_the_body_by()
    {
        // A chunked upload through uwsgi_pass: nginx buffers and de-chunks it, then frames it by CONTENT_LENGTH.
        var r = Map(UwsgiPackets.Request("POST", "/", "", "a=1", ("HTTP_TRANSFER_ENCODING", "chunked")));
        Assert.DoesNotContain(r.Headers, h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(["3"], r.Headers.Where(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value));
    }

    [Fact]
    public void Empty_content_vars_from_nginx_are_no_headers()
    {
        var r = Map(UwsgiPackets.Request());
        Assert.DoesNotContain(r.Headers, h => h.Key is "Content-Type" or "Content-Length");
    }

    [Fact]
    public void A_percent_in_the_decoded_path_is_not_decoded_again()
    {
        // nginx's PATH_INFO is $document_uri, already decoded: "%41" there is the three characters.
        var r = Map(UwsgiPackets.Request(path: "/100%41"));
        Assert.Equal("/100%41", CgiPath.PercentDecode(r.Path));
    }

    [Fact]
    public void Without_the_front_ends_vars_the_socket_and_listener_stand_in()
    {
        var r = Map(UwsgiPackets.Build([("PATH_INFO", "/x")]));
        Assert.Equal("GET", r.Method);
        Assert.Equal("/x", r.RawUri);
        Assert.Equal(Nginx, r.RemoteEndPoint);
        Assert.Equal(("127.0.0.1", "8000"), (r.ServerName, r.ServerPort));
        Assert.Equal("HTTP/1.1", r.Protocol);

        var withHost = Map(UwsgiPackets.Build([("HTTP_HOST", "example.com:8443")]));
        Assert.Equal("/", withHost.Path);
        Assert.Equal(("example.com", "8443"), (withHost.ServerName, withHost.ServerPort));
    }

    [Theory]
    [InlineData("HTTPS", "on", "https")]
    [InlineData("HTTPS", "1", "https")]
    [InlineData("HTTPS", "off", "http")]
    [InlineData("wsgi.url_scheme", "https", "https")]
    [InlineData("wsgi.url_scheme", "gopher", "http")]
    public void The_scheme_follows_https_or_wsgi_url_scheme(string name, string value, string scheme)
    {
        var r = Map(UwsgiPackets.Build([(name, value)]));
        Assert.Equal(scheme, r.UrlScheme);
        Assert.Null(Extra(r, "wsgi.url_scheme"));
    }

    [Fact]
    public void Script_name_is_what_precedes_path_info()
    {
        var mounted = Map(UwsgiPackets.Build([("SCRIPT_NAME", "/app"), ("PATH_INFO", "/app/page")]));
        Assert.Equal("/app", mounted.ScriptName);
        Assert.Equal("/page", CgiPath.RawPathInfo(mounted.Path, mounted.ScriptName).ToString());

        var cgi = Map(UwsgiPackets.Build([("SCRIPT_NAME", "/app"), ("PATH_INFO", "/page")]));
        Assert.Equal("/page", CgiPath.RawPathInfo(cgi.Path, cgi.ScriptName).ToString());

        var fromEnvironment = Map(UwsgiPackets.Build([("PATH_INFO", "/env/x")]), defaultScriptName: "/env");
        Assert.Equal("/env", fromEnvironment.ScriptName);
    }

    [Fact]
    public void Connection_close_and_http_10_are_kept()
    {
        var r = Map(UwsgiPackets.Build([("HTTP_CONNECTION", "close"), ("SERVER_PROTOCOL", "HTTP/1.0")]));
        Assert.True(r.WantsClose);
        Assert.Equal("HTTP/1.0", r.Protocol);
        Assert.Equal(0, r.VersionMinor);
    }

    [Fact]
    public void Server_owned_keys_are_not_the_front_ends_to_set()
    {
        var r = Map(UwsgiPackets.Build([("wsgi.input", "x"), ("gunicorn.socket", "y"), ("RAW_URI", "/evil"), ("UWSGI_SCRIPT", "kept")]));
        Assert.Null(Extra(r, "wsgi.input"));
        Assert.Null(Extra(r, "gunicorn.socket"));
        Assert.Null(Extra(r, "RAW_URI"));
        Assert.Equal("kept", Extra(r, "UWSGI_SCRIPT"));
    }

    [Theory]
    [InlineData("REQUEST_METHOD", "GET /x HTTP/1.1\n127.0.0.1 - - forged", "REQUEST_METHOD is not a token")]
    [InlineData("REQUEST_METHOD", "G\"T", "REQUEST_METHOD is not a token")]
    [InlineData("SERVER_PROTOCOL", "HTTP/1.1\r\nforged", "SERVER_PROTOCOL is not HTTP/n.n")]
    [InlineData("SERVER_PROTOCOL", "SPDY/3", "SERVER_PROTOCOL is not HTTP/n.n")]
    public void What_would_forge_an_access_log_line_is_400(string name, string value, string reason)
    {
        var e = Assert.Throws<UwsgiProtocolException>(() => Map(UwsgiPackets.Build([(name, value)])));
        Assert.Equal(400, e.StatusCode);
        Assert.Equal("Invalid uWSGI header: " + reason, e.Message);
    }

    [Fact]
    public void Raw_uri_is_one_printable_word_even_when_path_info_holds_a_decoded_line_break()
    {
        var r = Map(UwsgiPackets.Build([("PATH_INFO", "/a\nb c\u00e9"), ("QUERY_STRING", "q=1")]));
        Assert.Equal("/a%0Ab%20c%E9?q=1", r.RawUri);
        Assert.Equal("/a\nb c\u00e9", CgiPath.PercentDecode(r.Path));
    }

    [Fact]
    public void A_remote_addr_that_is_no_ip_address_is_passed_on_as_it_is()
    {
        var r = Map(UwsgiPackets.Build([("REMOTE_ADDR", "unix:"), ("REMOTE_PORT", "")]));
        Assert.Equal(Nginx, r.RemoteEndPoint);
        Assert.Equal("unix:", Extra(r, "REMOTE_ADDR"));
    }
}
