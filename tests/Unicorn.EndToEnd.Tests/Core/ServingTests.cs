using System.Net.Sockets;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Core;

/// <summary>
/// The core request path through the real binary: socket, C# parser, embedded CPython, response on the
/// wire, with the pyfixtures apps (plain WSGI, Flask, wsgiref's validator).
/// </summary>
public sealed class ServingTests
{
    private const string Close = "Connection: close\r\n";

    [Fact]
    public void Serves_hello_world_over_ipv4_and_ipv6()
    {
        var port4 = UnicornServer.FreePort();
        var port6 = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.hello:app", "-b", $"127.0.0.1:{port4}", "-b", $"[::1]:{port6}");
        server.WaitUntilServing(port4);
        var v4 = RawHttp.Send(port4, $"GET / HTTP/1.1\r\nHost: localhost\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", v4, StringComparison.Ordinal);
        Assert.Equal("Hello, World!\n", RawHttp.Body(v4));
        var v6 = RawHttp.Send(port6, $"GET / HTTP/1.1\r\nHost: localhost\r\n{Close}\r\n", family: AddressFamily.InterNetworkV6);
        Assert.Equal("Hello, World!\n", RawHttp.Body(v6));
    }

    [Fact]
    public void Serves_a_flask_app_with_query_and_post_body()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.flask_app:app", "-b", $"127.0.0.1:{port}", "-k", "gthread", "--threads", "2");
        server.WaitUntilResponding(port, "/hello/x");
        var get = RawHttp.Send(port, $"GET /hello/unicorn?via=wire HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.Equal("Hello unicorn from wire", RawHttp.Body(get));
        var post = RawHttp.Send(port, $"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{Close}\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n");
        Assert.Equal("abcdefg", RawHttp.Body(post));
    }

    [Theory]
    [InlineData("app", "Content-Length: 5", "hello", "ok:hello")]
    [InlineData("streaming", "Transfer-Encoding: chunked", "3\r\na\nb\r\n0\r\n\r\n", "wab")]
    public void An_app_wrapped_in_wsgiref_validator_raises_nothing(string app, string framing, string body, string expected)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.validated:" + app, "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");
        var response = RawHttp.Send(port, $"POST / HTTP/1.1\r\nHost: x\r\n{framing}\r\n{Close}\r\n{body}");
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        Assert.Equal(expected, RawHttp.Body(response));
        // wsgiref's validator raises AssertionError when the server breaks PEP 3333.
        Assert.DoesNotContain("AssertionError", server.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public void A_str_body_item_is_one_error_line_naming_the_item(string workerClass)
    {
        // Gunicorn's examples/bad.py returns ['ok']: Gunicorn logs "'ok' is not a byte"; Unicorn logged CPython's
        // "TypeError: expected bytes, str found", which names no item.
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.str_body:app", "-b", $"127.0.0.1:{port}", "-k", workerClass);
        server.WaitUntilResponding(port, "/list");
        var list = RawHttp.Send(port, $"GET /list HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error", list, StringComparison.Ordinal);
        RawHttp.Send(port, $"GET /iter HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        server.WaitForLog("Error handling request GET /list: invalid response from the application: body item 'ok' is a str, not bytes");
        server.WaitForLog("Error handling request GET /iter: invalid response from the application: body item 'second' is a str, not bytes");
        Assert.DoesNotContain("expected bytes", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void An_app_exception_is_a_500_with_the_traceback_logged_and_the_worker_keeps_serving()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.bridge_apps:raise_before", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");
        var response = RawHttp.Send(port, $"GET / HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error", response, StringComparison.Ordinal);
        server.WaitForLog("Traceback (most recent call last)");
        var again = RawHttp.Send(port, $"GET / HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500", again, StringComparison.Ordinal);
        Assert.Single(server.Workers());
        Assert.DoesNotContain("Booting worker", server.Log.Split("Booting worker", 2)[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Reads_wsgi_input_every_way_over_a_real_socket()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.bridge_apps:echo_input", "-b", $"127.0.0.1:{port}");
        server.WaitUntilServing(port);
        const string body = "line1\nline2\nlast";
        foreach (var (mode, expected) in new[]
        {
            ("read", body),
            ("read:6", "[line1\n][line2\n][last][]"),
            ("readline", "[line1\n][line2\n][last][]"),
            ("readlines", "[line1\n][line2\n][last]"),
            ("iter", "[line1\n][line2\n][last]"),
        })
        {
            var response = RawHttp.Send(port, $"POST /?{mode} HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\n{Close}\r\n{body}");
            Assert.Equal(expected, RawHttp.Body(response));
        }
    }

    [Fact]
    public void Serves_wsgi_file_wrapper_bodies_and_keeps_the_connection()
    {
        var file = Path.GetTempFileName();
        var content = string.Concat(Enumerable.Range(0, 20000).Select(i => (char)('a' + (i % 26))));
        File.WriteAllText(file, content);
        try
        {
            var port = UnicornServer.FreePort();
            using var server = UnicornServer.Start("pyfixtures.bridge_apps:file_wrapper", "-b", $"127.0.0.1:{port}");
            server.WaitUntilResponding(port, "/?" + file);
            var response = RawHttp.Send(port, $"GET /?{file} HTTP/1.1\r\nHost: x\r\n\r\nGET /?{file} HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
            var first = response.IndexOf("HTTP/1.1 200 OK", StringComparison.Ordinal);
            var second = response.IndexOf("HTTP/1.1 200 OK", first + 1, StringComparison.Ordinal);
            Assert.True(second > first, "two responses on one connection expected");
            Assert.Equal(content, RawHttp.Body(response[second..]));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Gthread_runs_requests_in_parallel_on_its_python_threads()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.bridge_apps:meeting", "-b", $"127.0.0.1:{port}", "-k", "gthread", "--threads", "4");
        server.WaitUntilResponding(port, "/?ping");
        // Each request waits in the app until all four are there: only four threads at once can answer "met" (one
        // thread would run them in turn, each alone). Client threads of their own, not the test's busy pool.
        var bodies = new string[4];
        var clients = Enumerable.Range(0, 4)
            .Select(i => new Thread(() => bodies[i] = RawHttp.Body(RawHttp.Send(port, $"GET / HTTP/1.1\r\nHost: x\r\n{Close}\r\n", 60))))
            .ToList();
        clients.ForEach(t => t.Start());
        clients.ForEach(t => t.Join());
        Assert.All(bodies, body => Assert.Equal("met", body));
    }
}
