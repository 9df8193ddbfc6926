using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Config;

/// <summary>
/// What Gunicorn's workers let the request hooks do with <c>req</c> and <c>worker</c>: a <c>pre_request</c> that
/// rewrites the request reaches the app's environ (Gunicorn builds it after the hook), and the worker process's own
/// object has <c>nr</c>, <c>max_requests</c>, <c>sockets</c> and <c>tmp</c>.
/// </summary>
public sealed class RequestHookWorkerTests : IDisposable
{
    private const int SigTerm = 15;

    private const string EchoApp = """
        import json

        def app(environ, start_response):
            keys = ("PATH_INFO", "QUERY_STRING", "RAW_URI", "REQUEST_METHOD", "CONTENT_TYPE")
            seen = {k: v for k, v in environ.items() if k.startswith("HTTP_") or k in keys}
            body = json.dumps(seen).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        """;

    // Hooks as they are written for Gunicorn: a request id appended, a header filtered out, a legacy path rewritten,
    // the request logged with the worker's count.
    private const string RewritingHooks = """
        import sys

        def pre_request(worker, req):
            worker.log.info("pre %s %s nr=%s unlimited=%s", req.method, req.path, worker.nr, worker.max_requests == sys.maxsize)
            if req.path == "/untouched":
                return
            req.headers.append(("X-REQUEST-ID", "rid-1"))
            req.headers = [(name, value) for name, value in req.headers if name != "X-DROP"]
            if req.path == "/legacy":
                req.method = "PUT"
                req.path = "/v2/item%20one"
                req.query = "from=legacy"
                req.uri = "/v2/item%20one?from=legacy"

        def post_request(worker, req, environ, resp):
            worker.log.info("post %s nr=%s", req.path, worker.nr)
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-e2e-reqhooks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public async Task What_pre_request_sets_on_req_reaches_the_environ(string workerClass)
    {
        File.WriteAllText(Path.Combine(_dir, "echo_app.py"), EchoApp);
        var config = Path.Combine(_dir, "rewrite.conf.py");
        File.WriteAllText(config, RewritingHooks);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["PYTHONPATH"] = _dir },
            "-c", config, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "-k", workerClass, "--access-logfile", "-", "echo_app:app");
        server.WaitUntilServing(port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"), Timeout = TimeSpan.FromSeconds(30) };

        var legacy = await Environ(client, "/legacy?old=1", ("X-Drop", "secret"), ("X-Keep", "kept"));
        Assert.Equal("PUT", legacy["REQUEST_METHOD"]);
        Assert.Equal("/v2/item one", legacy["PATH_INFO"]);
        Assert.Equal("from=legacy", legacy["QUERY_STRING"]);
        Assert.Equal("/v2/item%20one?from=legacy", legacy["RAW_URI"]);
        Assert.Equal("rid-1", legacy["HTTP_X_REQUEST_ID"]);
        Assert.Equal("kept", legacy["HTTP_X_KEEP"]);
        Assert.False(legacy.ContainsKey("HTTP_X_DROP"));

        // Only headers changed: the rest as sent. A request the hook leaves alone is as sent.
        var plain = await Environ(client, "/plain?q=2", ("X-Drop", "secret"));
        Assert.Equal(("GET", "/plain", "q=2", "/plain?q=2", "rid-1"),
            (plain["REQUEST_METHOD"], plain["PATH_INFO"], plain["QUERY_STRING"], plain["RAW_URI"], plain["HTTP_X_REQUEST_ID"]));
        Assert.False(plain.ContainsKey("HTTP_X_DROP"));
        var untouched = await Environ(client, "/untouched", ("X-Drop", "secret"));
        Assert.Equal("secret", untouched["HTTP_X_DROP"]);
        Assert.False(untouched.ContainsKey("HTTP_X_REQUEST_ID"));

        // worker.nr as Gunicorn counts it: the requests before this one in pre_request, this one too in post_request
        // (counted from the first, WaitUntilServing's); post_request's req is pre_request's, rewritten.
        server.WaitForLog("post /untouched nr=");
        server.WaitForLog("\"PUT /v2/item%20one?from=legacy HTTP/1.1\" 200"); // the access line shows it too, as Gunicorn's
        var before = server.Lines.Select(l => Regex.Match(l, @"pre GET /legacy nr=(\d+) unlimited=True$")).Single(m => m.Success);
        var n = int.Parse(before.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(n >= 1, server.Log);
        string[] expected = [$"post /v2/item%20one nr={n + 1}", $"pre GET /plain nr={n + 1} unlimited=True", $"post /untouched nr={n + 3}"];
        foreach (var line in expected)
        {
            Assert.Contains(server.Lines, l => l.EndsWith(line, StringComparison.Ordinal));
        }

        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.DoesNotContain("Traceback", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void The_workers_own_object_has_nr_max_requests_sockets_and_tmp()
    {
        // The app counts its calls: worker_exit's worker.nr (no request hook counts here) must match.
        File.WriteAllText(Path.Combine(_dir, "count_app.py"), """
            calls = 0

            def app(environ, start_response):
                global calls
                calls += 1
                body = str(calls).encode()
                start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
                return [body]
            """);
        var config = Path.Combine(_dir, "worker.conf.py");
        File.WriteAllText(config, """
            import socket
            import time

            def post_worker_init(worker):
                sock = worker.sockets[0]
                worker.log.info("sockets %s %s %s", len(worker.sockets), sock, sock.getsockname()[1])
                age = time.monotonic() - worker.tmp.last_update()
                worker.tmp.notify()
                worker.log.info("tmp %s %s %s", isinstance(worker.tmp.last_update(), float), -1 < age < 60, worker.tmp.fileno() >= 0)
                worker.log.info("limit %s", 100 <= worker.max_requests <= 105)

            def worker_exit(server, worker):
                worker.log.info("handled %s", worker.nr)
            """);
        var port = UnicornServer.FreePort();
        var bind = $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["PYTHONPATH"] = _dir },
            "-c", config, "-b", bind, "--max-requests", "100", "--max-requests-jitter", "5", "count_app:app");
        server.WaitUntilServing(port);
        var calls = "";
        for (var i = 0; i < 3; i++)
        {
            (var status, calls) = UnicornServer.Get(port, "/");
            Assert.Equal(200, status);
        }

        server.WaitForLog($"sockets 1 http://{bind} {port.ToString(CultureInfo.InvariantCulture)}");
        server.WaitForLog("tmp True True True");
        server.WaitForLog("limit True");
        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.Contains(server.Lines, l => l.EndsWith($"handled {calls}", StringComparison.Ordinal));
        Assert.DoesNotContain("Traceback", server.Log, StringComparison.Ordinal);
    }

    private static async Task<Dictionary<string, string>> Environ(HttpClient client, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonSerializer.Deserialize<Dictionary<string, string>>(body)!;
    }
}
