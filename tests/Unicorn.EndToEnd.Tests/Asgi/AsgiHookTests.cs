using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>
/// pre_request and post_request under -k asgi, as Gunicorn 26.1's ASGI worker runs them on its loop: pre_request
/// before the app (one that raises is logged and answered 500), post_request after it whatever happened, with resp
/// carrying the int status and the bytes sent, and a small environ; websockets run neither. --spew traces the loop.
/// </summary>
public sealed class AsgiHookTests
{
    private const string Close = "Connection: close\r\n";

    [Fact]
    public void Request_hooks_run_around_each_http_request_on_the_loop()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-w", "1",
            "-c", "pyfixtures/asgi/hooks_conf.py", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        var ok = RawHttp.Send(port, $"GET /?q=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: probe/1\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", ok, StringComparison.Ordinal);
        server.WaitForLog("post_request GET / -> 200 sent=2 raw=/?q=1 ua=probe/1");
        Assert.Contains(server.Lines, l => l.Contains("pre_request GET / ua=probe/1", StringComparison.Ordinal));

        // PATH_INFO is the scope's path: percent-escapes and a target's raw UTF-8 bytes (curl sends "/café" unescaped)
        // decoded as UTF-8, as Gunicorn 26.1's asgi worker gives it; it once read the raw bytes as latin-1 ("cafÃ©").
        var utf8 = System.Text.Encoding.Latin1.GetString(System.Text.Encoding.UTF8.GetBytes("/café"));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", RawHttp.Send(port, $"GET {utf8}/%C3%A9 HTTP/1.1\r\nHost: x\r\n{Close}\r\n"), StringComparison.Ordinal);
        server.WaitForLog("path_info='/caf\\xe9/\\xe9'");

        // The app raised: post_request still runs and sees the 500 that was answered.
        var raised = RawHttp.Send(port, $"GET /raise HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", raised, StringComparison.Ordinal);
        server.WaitForLog("post_request GET /raise -> 500 sent=0 raw=/raise ua=None");

        // pre_request raised: logged with its traceback, answered 500 without calling the app (which would say ok).
        var denied = RawHttp.Send(port, $"GET /deny-by-hook HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", denied, StringComparison.Ordinal);
        Assert.Equal("Internal Server Error", RawHttp.Body(denied));
        server.WaitForLog("Exception in pre_request hook");
        server.WaitForLog("PermissionError: refused by pre_request");
        server.WaitForLog("post_request GET /deny-by-hook -> 500 sent=0");

        // post_request raised: only logged; the response had gone out whole.
        var late = RawHttp.Send(port, $"GET /post-raises HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", late, StringComparison.Ordinal);
        Assert.Equal("ok", RawHttp.Body(late));
        server.WaitForLog("Exception in post_request hook");
        server.WaitForLog("ValueError: post_request failed on purpose");

        Assert.Equal(200, UnicornServer.Get(port, "/").Status);
        Assert.Equal(1, server.Count("pre_request GET /deny-by-hook"));
        Assert.DoesNotContain(server.Lines, l => l.TrimStart().StartsWith("at Unicorn.", StringComparison.Ordinal));
    }

    [Fact]
    public void A_websocket_runs_no_request_hooks_and_is_no_slow_request()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("ws_app:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-w", "1",
            "-c", "pyfixtures/asgi/hooks_conf.py", "--max-request-time", "1", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");
        server.WaitForLog("post_request GET / -> 200");

        var lines = WebSocketClient.Run(port, "hold");
        Assert.Equal(["held before", "held after"], lines);

        // Open 3.5 s under max_request_time = 1: not reported; and no hook ran for it, as in Gunicorn's ASGI worker.
        Thread.Sleep(1500); // a heartbeat or more after it closed
        // Only the websocket's line is looked for: the first plain request may itself run over 1 s on a loaded machine.
        Assert.DoesNotContain(server.Lines, l => l.Contains("has run ", StringComparison.Ordinal) && !l.Contains("Request GET / has run", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Lines, l => l.Contains("_request GET /echo", StringComparison.Ordinal));
    }

    [Fact]
    public void Spew_traces_the_event_loop_thread()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("raw:misuse", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-w", "1", "--spew",
            "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/", 120);
        Assert.True(UnicornServer.Poll(() => server.Lines.Any(l => l.StartsWith("raw:", StringComparison.Ordinal) && l.Contains("path = scope[\"path\"]", StringComparison.Ordinal)), 30),
            server.Log);
    }
}
