using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>
/// Protocol misuse answered as Gunicorn's ASGI worker answers it (a 500 when nothing was sent, the error logged),
/// and the lifespan and loop settings' failure paths.
/// </summary>
public sealed class AsgiProtocolTests
{
    private const string Close = "Connection: close\r\n";

    [Fact]
    public void Misuse_is_answered_and_logged_and_the_worker_serves_on()
    {
        var port = UnicornServer.FreePort();
        // The app has no lifespan support: under the default asgi_lifespan = auto it is served without.
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        var none = RawHttp.Send(port, $"GET /noresponse HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", none, StringComparison.Ordinal);
        Assert.Equal("Internal Server Error", RawHttp.Body(none));
        server.WaitForLog("ASGI application returned without sending a response: GET /noresponse");

        var raised = RawHttp.Send(port, $"GET /raise HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", raised, StringComparison.Ordinal);
        server.WaitForLog("ValueError: app raised on purpose");

        var early = RawHttp.Send(port, $"GET /body-before-start HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", early, StringComparison.Ordinal);
        server.WaitForLog("RuntimeError: Response not started");

        var nul = RawHttp.Send(port, $"GET /nul-header HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", nul, StringComparison.Ordinal);
        Assert.DoesNotContain("x-injected", nul, StringComparison.OrdinalIgnoreCase);
        server.WaitForLog("header value contains a NUL byte");

        // Refused by the C# sink (fast.start returns why): the app's send raises it and nothing was sent, so 500.
        var badName = RawHttp.Send(port, $"GET /bad-header-name HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", badName, StringComparison.Ordinal);
        server.WaitForLog("RuntimeError: invalid header name");

        // An app's exception after its response completed (Starlette's ServerErrorMiddleware sends the 500, then
        // re-raises) is logged with its traceback, as uvicorn logs it (Gunicorn 26.1: a debug line, no traceback).
        var after = RawHttp.Send(port, $"GET /raise-after-500 HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", after, StringComparison.Ordinal);
        server.WaitForLog("ValueError: raised after its 500 was sent");
        Assert.Contains(server.Lines, l => l.Contains("[ERROR] Error in ASGI application", StringComparison.Ordinal));

        // The second start is ignored and the first one stands; as in Gunicorn, a misuse raised after the response
        // completed is only a debug line.
        var twice = RawHttp.Send(port, $"GET /start-twice HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", twice, StringComparison.Ordinal);
        Assert.Equal("ok", RawHttp.Body(twice));
        Assert.Equal(200, UnicornServer.Get(port, "/").Status);
        Assert.DoesNotContain(server.Lines, l => l.Contains("Response already started", StringComparison.Ordinal));

        // Its send once raised OSError("the request has ended"): the warning read the exchange, already handed back.
        var trailers = RawHttp.Send(port, $"GET /trailers-over-http1 HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", trailers, StringComparison.Ordinal);
        server.WaitForLog("ASGI application sent trailers the response cannot carry: GET /trailers-over-http1");
        Assert.DoesNotContain(server.Lines, l => l.Contains("the request has ended", StringComparison.Ordinal));

        Assert.Equal(200, UnicornServer.Get(port, "/").Status);
        Assert.DoesNotContain(server.Lines, l => l.TrimStart().StartsWith("at Unicorn.", StringComparison.Ordinal));
    }

    [Fact]
    public void The_scope_decodes_the_path_as_urllib_and_gives_header_names_lowercased_as_bytes()
    {
        // The scope dict is built in C# (fast.http_scope); a path with escapes still goes through urllib.parse.unquote.
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        var response = RawHttp.Send(port, $"GET /echo-scope/a%20b/%C3%A9%ZZ HTTP/1.1\r\nHost: x\r\nX-Mixed-Case: Keep Value\r\nX-Forwarded-For: 203.0.113.7\r\n{Close}\r\n");
        using var doc = System.Text.Json.JsonDocument.Parse(RawHttp.Body(response));
        var scope = doc.RootElement;
        Assert.Equal("/echo-scope/a b/\u00e9%ZZ", scope.GetProperty("path").GetString());
        Assert.Equal("/echo-scope/a%20b/%C3%A9%ZZ", scope.GetProperty("raw_path").GetString());
        Assert.Equal("http", scope.GetProperty("type").GetString());
        var headers = scope.GetProperty("headers").EnumerateArray().Select(h => (h[0].GetString(), h[1].GetString())).ToList();
        Assert.Contains(("x-mixed-case", "Keep Value"), headers);
        Assert.Contains(("host", "x"), headers);
        Assert.Equal(["bytes"], scope.GetProperty("types").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(["http.response.pathsend"], scope.GetProperty("extensions").EnumerateArray().Select(t => t.GetString()));
        // Gunicorn 26.1's asgi worker: the client is the socket's peer, whatever X-Forwarded-For says (uvicorn's worker
        // class reads it: FastApiTests).
        Assert.Equal("127.0.0.1", scope.GetProperty("client")[0].GetString());
        Assert.NotEqual(0, scope.GetProperty("client")[1].GetInt32());
        // This app has no lifespan; Gunicorn 26.1 and uvicorn still give every request an empty state.
        Assert.Equal(System.Text.Json.JsonValueKind.Object, scope.GetProperty("state").ValueKind);
    }

    [Fact]
    public void A_path_sent_as_raw_utf8_bytes_is_decoded_as_utf8_in_the_scope()
    {
        // curl and many scripts send non-ASCII paths unescaped. The ASGI spec's `path` has "UTF-8 byte sequences
        // decoded into characters", as Gunicorn 26.1's asgi worker does (unquote_to_bytes(...).decode("utf-8",
        // "replace")); Unicorn's scope once gave each byte as a latin-1 char ("cafÃ©"), so a route for "/café" missed.
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        // The request line's bytes, written as latin-1 chars (RawHttp sends each char as one byte).
        var utf8 = System.Text.Encoding.Latin1.GetString(System.Text.Encoding.UTF8.GetBytes("/echo-scope/café/€"));
        foreach (var (target, path) in new[]
                 {
                     (utf8, "/echo-scope/café/€"),
                     (utf8 + "%20%C3%A9", "/echo-scope/café/€ é"),
                     ("/echo-scope/\u00ff", "/echo-scope/\ufffd"), // not UTF-8: replaced, as Gunicorn
                 })
        {
            var response = RawHttp.Send(port, $"GET {target}?q=1 HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
            using var doc = System.Text.Json.JsonDocument.Parse(RawHttp.Body(response));
            Assert.Equal(path, doc.RootElement.GetProperty("path").GetString());
            Assert.Equal(target, doc.RootElement.GetProperty("raw_path").GetString());
        }
    }

    [Fact]
    public void Response_headers_of_every_shape_the_app_may_send_are_read_or_refused_as_python_would()
    {
        // fast.start reads a list or tuple of 2-item tuples or lists of bytes or str in C#; any other shape goes
        // through Python's checks, with their errors.
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        var shapes = RawHttp.Send(port, $"GET /header-shapes HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", shapes, StringComparison.Ordinal);
        Assert.Contains("\r\nx-gen: 1\r\n", shapes, StringComparison.Ordinal);
        Assert.Equal("ok", RawHttp.Body(shapes));

        var lists = RawHttp.Send(port, $"GET /header-list-pairs HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", lists, StringComparison.Ordinal);
        Assert.Contains("\r\nx-list: str-value\r\n", lists, StringComparison.Ordinal);
        Assert.Equal("ok", RawHttp.Body(lists));

        var notBytes = RawHttp.Send(port, $"GET /header-not-bytes HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", notBytes, StringComparison.Ordinal);
        server.WaitForLog("TypeError: header value must be bytes, not int");
        Assert.DoesNotContain(server.Lines, l => l.TrimStart().StartsWith("at Unicorn.", StringComparison.Ordinal));
    }

    [Fact]
    public void An_apps_connection_close_ends_a_keep_alive_connection_as_in_gunicorns_asgi_worker()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        using var client = new System.Net.Sockets.TcpClient("127.0.0.1", port);
        client.ReceiveTimeout = 10_000; // a connection kept open fails the read below
        using var stream = client.GetStream();
        stream.Write("GET /connection-close HTTP/1.1\r\nHost: x\r\n\r\n"u8);
        var response = new StreamReader(stream, System.Text.Encoding.Latin1).ReadToEnd();
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nok", response, StringComparison.Ordinal);
    }

    [Fact]
    public void With_root_path_set_a_forwarders_SCRIPT_NAME_header_does_not_mount_the_app()
    {
        // Gunicorn 26.1's ASGI worker: root_path is the setting alone. (Without root_path the header mounts the app,
        // and a path outside it is a 400, as for WSGI.)
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "--root-path", "/api",
            "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        var response = RawHttp.Send(port, $"GET /api/x HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: /sn\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public void Early_hints_go_out_as_a_103_before_the_response_as_in_Gunicorn()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        // One 103 before the head; the one sent after the response started is dropped.
        var hinted = RawHttp.Send(port, $"GET /early-hints HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload; as=style\r\n\r\nHTTP/1.1 200 OK\r\n", hinted,
            StringComparison.OrdinalIgnoreCase);
        Assert.Equal("ok", RawHttp.Body(hinted[hinted.IndexOf("HTTP/1.1 200", StringComparison.Ordinal)..]));
        Assert.DoesNotContain("late.js", hinted, StringComparison.Ordinal);

        // An HTTP/1.0 client cannot take an interim response: it gets the final one only.
        var old = RawHttp.Send(port, "GET /early-hints HTTP/1.0\r\nHost: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.0 200 OK\r\n", old, StringComparison.Ordinal);

        // Another 1xx is the app's mistake: its send raises, and nothing having been sent, it is answered 500.
        var other = RawHttp.Send(port, $"GET /early-hints?102 HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", other, StringComparison.Ordinal);
        server.WaitForLog("only status 103 (Early Hints) is supported, not 102");
    }

    [Fact]
    public void Clients_that_never_read_hold_no_thread_and_others_are_served_at_once()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-w", "1", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");
        var worker = server.Workers().Single();
        var before = Threads(worker);

        // 30 clients ask for 32 MiB each and read nothing: their writes wait on async I/O, not on pool threads
        // (with blocking writes the pool starved and the requests below timed out).
        var stalled = new List<System.Net.Sockets.TcpClient>();
        try
        {
            for (var i = 0; i < 30; i++)
            {
                var client = new System.Net.Sockets.TcpClient { ReceiveBufferSize = 4096 };
                client.Connect("127.0.0.1", port);
                client.GetStream().Write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"u8);
                stalled.Add(client);
            }

            Thread.Sleep(6000);
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal((200, "ok"), UnicornServer.Get(port, "/", 10));
            }

            Assert.True(Threads(worker) < before + 8, $"threads {before} -> {Threads(worker)}");
        }
        finally
        {
            stalled.ForEach(c => c.Dispose());
        }
    }

    private static int Threads(int pid) =>
        int.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Threads:", StringComparison.Ordinal))[8..].Trim(),
            System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void An_app_that_blocks_the_event_loop_is_ended_by_the_masters_timeout()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "--timeout", "3", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");
        var first = server.Workers().Single();

        // Nothing else is sent: the loop must be seen stuck without other requests queueing behind it.
        using var blocked = new System.Net.Sockets.TcpClient("127.0.0.1", port);
        blocked.GetStream().Write("GET /block HTTP/1.1\r\nHost: x\r\n\r\n"u8);

        server.WaitForLog($"WORKER TIMEOUT (pid:{first})", seconds: 60);
        Assert.True(UnicornServer.Poll(() => server.Workers() is [var w] && w != first, 60), "no replacement worker");
        server.WaitUntilResponding(port, "/");
    }

    [Fact]
    public void A_failed_lifespan_startup_under_asgi_lifespan_on_stops_the_server_with_one_line()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
            "raw:failing_lifespan", "--chdir", "pyfixtures/asgi", "-k", "asgi", "--asgi-lifespan", "on", "-b", $"127.0.0.1:{port}");

        Assert.NotEqual(0, server.WaitForExit(90));
        Assert.Contains(server.Lines, l => l.Contains("ASGI lifespan startup failed: database unreachable", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Lines, l => l.TrimStart().StartsWith("at Unicorn.", StringComparison.Ordinal));
    }

    [Fact]
    public void A_failed_lifespan_startup_under_auto_serves_without_lifespan()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:failing_lifespan", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        Assert.Equal((200, "ok"), UnicornServer.Get(port, "/"));
    }

    [Fact]
    public void Under_uvicorns_worker_class_a_reported_startup_failure_stops_the_server_as_uvicorn_does()
    {
        // A FastAPI app whose startup handler raises reports lifespan.startup.failed (Starlette catches it); uvicorn's
        // worker exits with "Application startup failed", and so the master stops, rather than serve an app whose
        // start-up did not happen.
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
            "raw:failing_lifespan", "--chdir", "pyfixtures/asgi", "-k", "uvicorn.workers.UvicornWorker", "-b", $"127.0.0.1:{port}");

        Assert.NotEqual(0, server.WaitForExit(90));
        Assert.Contains(server.Lines, l => l.Contains("ASGI lifespan startup failed: database unreachable", StringComparison.Ordinal));
    }

    [Fact]
    public void A_uvicorn_worker_subclass_runs_with_its_config_kwargs()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("main:app", "--chdir", "pyfixtures/asgi", "-k", "uvicorn_workers.Configured", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/started");

        Assert.Equal((200, "{\"started\":[]}"), UnicornServer.Get(port, "/started")); // lifespan "off"
        Assert.Contains("\"root_path\":\"/sub\"", UnicornServer.Get(port, "/scope").Body, StringComparison.Ordinal);
        server.WaitForLog("Using worker: uvicorn_workers.Configured");
    }

    [Fact]
    public void Under_uvicorns_worker_class_an_app_without_lifespan_is_still_served()
    {
        // uvicorn's auto: an app that raises on the lifespan scope "appears unsupported" and is served.
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "uvicorn.workers.UvicornWorker", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        Assert.Equal(200, UnicornServer.Get(port, "/").Status);
    }

    [Fact]
    public void Asking_for_uvloop_runs_it_or_warns_in_one_line_and_serves_on_asyncio_as_gunicorn_does()
    {
        // Gunicorn 26.1's own example configs set asgi_loop = "uvloop"; where it is not installed Gunicorn warns and
        // serves on asyncio's loop, and a copied config must not stop the server.
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "--asgi-loop", "uvloop", "-b", $"127.0.0.1:{port}");

        server.WaitUntilResponding(port, "/");
        Assert.Equal((200, "ok"), UnicornServer.Get(port, "/"));
        if (!Directory.Exists("/usr/lib/python3/dist-packages/uvloop"))
        {
            server.WaitForLog("[WARNING] uvloop not available, falling back to asyncio");
        }
    }
}
