using System.Text.Json;
using Unicorn.PythonBridge.Tests.Support;

namespace Unicorn.PythonBridge.Tests;

[Collection(PythonCollection.Name)]
public sealed class EnvironTests(PythonFixture python)
{
    private JsonElement Environ(Unicorn.Wsgi.Application.WsgiRequest request, WsgiAppOptions? options = null)
    {
        var app = python.Load("bridge_apps:environ_dump", options);
        using var thread = new AppThread(app);
        var sink = thread.Invoke(request);
        Assert.Equal("200 OK", sink.Status);
        Assert.True(sink.Completed);
        return JsonDocument.Parse(sink.Body).RootElement;
    }

    [Fact]
    public void Hello_world_returns_status_headers_and_body()
    {
        var app = python.Load("hello:app");
        using var thread = new AppThread(app);
        var sink = thread.Invoke(AppThread.Request());
        Assert.Equal("200 OK", sink.Status);
        Assert.Equal("14", sink.Header("Content-Length"));
        Assert.Equal("Hello, World!\n", sink.BodyText);
        Assert.True(sink.Completed);
        Assert.False(sink.Aborted);
    }

    [Fact]
    public void Environ_has_every_PEP_3333_key_and_Gunicorns()
    {
        var env = Environ(AppThread.Request("POST", "/a/b", "x=1&y=2",
            [new("Host", "example.test:8080"), new("Content-Type", "text/plain"), new("Content-Length", "0"), new("User-Agent", "t")]));
        string S(string key) => env.GetProperty(key).GetString()!;

        Assert.Equal("POST", S("REQUEST_METHOD"));
        Assert.Equal("", S("SCRIPT_NAME"));
        Assert.Equal("/a/b", S("PATH_INFO"));
        Assert.Equal("x=1&y=2", S("QUERY_STRING"));
        Assert.Equal("/a/b?x=1&y=2", S("RAW_URI"));
        Assert.Equal("text/plain", S("CONTENT_TYPE"));
        Assert.Equal("0", S("CONTENT_LENGTH"));
        Assert.Equal("example.test", S("SERVER_NAME"));
        Assert.Equal("8080", S("SERVER_PORT"));
        Assert.Equal("HTTP/1.1", S("SERVER_PROTOCOL"));
        Assert.Equal("127.0.0.1", S("REMOTE_ADDR"));
        Assert.Equal("54321", S("REMOTE_PORT"));
        Assert.Equal("example.test:8080", S("HTTP_HOST"));
        Assert.Equal("t", S("HTTP_USER_AGENT"));
        Assert.Equal("http", S("wsgi.url_scheme"));
        Assert.StartsWith("unicorn/", S("SERVER_SOFTWARE"), StringComparison.Ordinal);
        Assert.Equal([1, 0], env.GetProperty("_version").EnumerateArray().Select(e => e.GetInt32()));

        var types = env.GetProperty("_types");
        Assert.Equal("tuple", types.GetProperty("wsgi.version").GetString());
        Assert.Equal("bool", types.GetProperty("wsgi.multithread").GetString());
        Assert.Equal("bool", types.GetProperty("wsgi.multiprocess").GetString());
        Assert.Equal("bool", types.GetProperty("wsgi.run_once").GetString());
        Assert.Equal("True", S("wsgi.input_terminated"));
        Assert.Equal("False", S("wsgi.run_once"));
        Assert.Contains("stderr", S("wsgi.errors"), StringComparison.Ordinal);
        Assert.Contains("FileWrapper", S("wsgi.file_wrapper"), StringComparison.Ordinal);
        Assert.Equal("EmptyInput", env.GetProperty("_input_class").GetString());
        Assert.False(env.TryGetProperty("HTTP_CONTENT_TYPE", out _));
        Assert.False(env.TryGetProperty("HTTP_CONTENT_LENGTH", out _));
        foreach (var property in types.EnumerateObject().Where(p => p.Name.ToUpperInvariant() == p.Name))
        {
            Assert.Equal("str", property.Value.GetString()); // every CGI key is a native str
        }
    }

    [Fact]
    public void Input_is_BytesIO_for_a_buffered_body_and_a_reader_for_a_streamed_one()
    {
        var buffered = Environ(AppThread.Request("POST", body: new Unicorn.Wsgi.Application.BufferedRequestBody("x"u8.ToArray())));
        Assert.Equal("BytesIO", buffered.GetProperty("_input_class").GetString());
        var streamed = Environ(AppThread.Request("POST", body: new StreamedBody("x"u8.ToArray())));
        Assert.Equal("StreamInput", streamed.GetProperty("_input_class").GetString());
    }

    [Fact]
    public void Multithread_and_multiprocess_follow_the_options()
    {
        var env = Environ(AppThread.Request(), new WsgiAppOptions { Multithread = true, Multiprocess = true });
        Assert.Equal("True", env.GetProperty("wsgi.multithread").GetString());
        Assert.Equal("True", env.GetProperty("wsgi.multiprocess").GetString());
        env = Environ(AppThread.Request());
        Assert.Equal("False", env.GetProperty("wsgi.multithread").GetString());
        Assert.Equal("False", env.GetProperty("wsgi.multiprocess").GetString());
    }

    [Theory]
    [InlineData("/caf%C3%A9", "/caf\u00c3\u00a9")]
    [InlineData("/a%2Fb", "/a/b")]
    [InlineData("/100%", "/100%")]
    [InlineData("/%zz%4", "/%zz%4")]
    [InlineData("/%41%62c%20d", "/Abc d")]
    [InlineData("/\u00e9t\u00e9", "/\u00e9t\u00e9")]
    public void PATH_INFO_is_percent_decoded_as_latin1(string path, string expected)
    {
        var env = Environ(AppThread.Request(path: path));
        Assert.Equal(expected, env.GetProperty("PATH_INFO").GetString());
        Assert.Equal(path, env.GetProperty("RAW_URI").GetString());
    }

    [Fact]
    public void SCRIPT_NAME_is_taken_off_PATH_INFO()
    {
        var env = Environ(AppThread.Request(path: "/app/x%20y", scriptName: "/app"));
        Assert.Equal("/app", env.GetProperty("SCRIPT_NAME").GetString());
        Assert.Equal("/x y", env.GetProperty("PATH_INFO").GetString());
    }

    [Fact]
    public void SCRIPT_NAME_is_stripped_only_as_a_prefix_as_in_Gunicorn_26()
    {
        // gunicorn/http/wsgi.py (26.1) strips SCRIPT_NAME only as a prefix; the access log uses the same rule.
        Assert.Equal("/y", Environ(AppThread.Request(path: "/app/y", scriptName: "/app")).GetProperty("PATH_INFO").GetString());
        Assert.Equal("/x/app/y", Environ(AppThread.Request(path: "/x/app/y", scriptName: "/app")).GetProperty("PATH_INFO").GetString());
    }

    [Fact]
    public void Repeated_headers_are_joined_with_a_comma()
    {
        var env = Environ(AppThread.Request(headers:
        [
            new("Host", "h"), new("Accept", "a/b"), new("X-Forwarded-For", "1.1.1.1"), new("accept", "c/d"),
            new("ACCEPT", "e/f"), new("x-forwarded-for", "2.2.2.2"),
        ]));
        Assert.Equal("a/b,c/d,e/f", env.GetProperty("HTTP_ACCEPT").GetString());
        Assert.Equal("1.1.1.1,2.2.2.2", env.GetProperty("HTTP_X_FORWARDED_FOR").GetString());
    }

    [Fact]
    public void Header_values_keep_latin1_bytes()
    {
        var env = Environ(AppThread.Request(headers: [new("X-Name", "Ren\u00e9 \u00ff")]));
        Assert.Equal("Ren\u00e9 \u00ff", env.GetProperty("HTTP_X_NAME").GetString());
    }

    [Fact]
    public void Extra_environ_and_https_are_passed()
    {
        var request = AppThread.Request();
        request = new Unicorn.Wsgi.Application.WsgiRequest
        {
            Method = "DELETE",
            RawUri = "/",
            Path = "/",
            Query = "",
            Protocol = "HTTP/1.0",
            VersionMinor = 0,
            Headers = [],
            Body = Unicorn.Wsgi.Application.RequestBody.Empty,
            ServerName = "s",
            ServerPort = "443",
            UrlScheme = "https",
            RemoteEndPoint = null,
            ExtraEnviron = [new("PROXY_PROTOCOL", "TCP4")],
        };
        var env = Environ(request);
        Assert.Equal("https", env.GetProperty("wsgi.url_scheme").GetString());
        Assert.Equal("HTTP/1.0", env.GetProperty("SERVER_PROTOCOL").GetString());
        Assert.Equal("TCP4", env.GetProperty("PROXY_PROTOCOL").GetString());
        Assert.Equal("", env.GetProperty("REMOTE_ADDR").GetString());
        Assert.False(env.TryGetProperty("REMOTE_PORT", out _));
        Assert.Equal("DELETE", env.GetProperty("REQUEST_METHOD").GetString());
    }

    [Fact]
    public void Env_flag_values_reach_os_environ()
    {
        var app = python.Load("bridge_apps:env_value");
        using var thread = new AppThread(app);
        Assert.Equal("from-env-flag", thread.Invoke(AppThread.Request()).BodyText);
    }
}
