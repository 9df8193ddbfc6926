using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.AsyncWorkers;

/// <summary>
/// -k gevent and -k eventlet with the real libraries (Debian's python3-gevent, python3-eventlet): one worker
/// runs many requests at once as greenlets, patched as Gunicorn patches, stopped and timed out as Gunicorn's
/// async workers are, and no client can hold the others up.
/// </summary>
public sealed class GreenletWorkerTests
{
    private const string App = "pyfixtures.greenlet_apps:app";

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public async Task A_thousand_slow_requests_run_at_once_on_one_worker(string workerClass)
    {
        // A few slots above the clients: the start-up probe's connection may not have given its slot back yet.
        using var server = Start(workerClass, out var port, "--worker-connections", "1050");

        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => TryGetAsync(port, "/sleep?5", 120)));
        clock.Stop();

        Assert.True(results.All(r => r.Status == 200), $"{results.Count(r => r.Status != 200)} failed, e.g. {results.FirstOrDefault(r => r.Status != 200).Body}\n{server.Log}");
        // One at a time this is 5,000 s; at once, 5 s plus the time to connect 1,000 clients on a loaded machine.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"took {clock.Elapsed}");
        var most = int.Parse(UnicornServer.Get(port, "/most").Body, CultureInfo.InvariantCulture);
        Assert.True(most >= 500, $"at most {most} requests were in the app at once\n{server.Log}");
    }

    [Theory]
    [InlineData("gevent", "gevent._socket3 gevent.hub gevent.thread")]
    [InlineData("eventlet", "eventlet.greenio.base eventlet.greenthread eventlet.green.thread")]
    public void The_app_is_imported_after_monkey_patching_and_the_config_file_before(string workerClass, string imported)
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-greenlet-");
        try
        {
            // The config's module level runs again in the worker for its callables: before patching, as Gunicorn's
            // master runs it, so a subscriber to gevent's patch events it registers hears the worker patch.
            var config = Path.Combine(dir.FullName, "gunicorn.conf.py");
            File.WriteAllText(config, """
                import time
                import gevent.events
                SLEEP_AT_IMPORT = time.sleep.__module__
                PATCHED = []
                gevent.events.subscribers.append(
                    lambda event: PATCHED.append(type(event).__name__)
                    if isinstance(event, gevent.events.GeventDidPatchBuiltinModulesEvent) else None)

                def post_worker_init(worker):
                    worker.log.info("config imported with sleep from %s, then %s" % (SLEEP_AT_IMPORT, PATCHED))
                """);
            using var server = Start(workerClass, out var port, "-c", config);

            Assert.Equal(imported, UnicornServer.Get(port, "/imported").Body);
            // Greenlets run requests concurrently: Gunicorn's async workers say wsgi.multithread True.
            Assert.Equal("(True, False)", UnicornServer.Get(port, "/multithread").Body);
            server.WaitForLog("config imported with sleep from time, then " + (workerClass == "gevent" ? "['GeventDidPatchBuiltinModulesEvent']" : "[]"));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public async Task An_app_calling_a_slow_upstream_with_urllib_serves_two_hundred_clients_at_once(string workerClass)
    {
        // The upstream answers each request after one second, on its own sockets, outside the server under test.
        using var upstream = new TcpListener(IPAddress.Loopback, 0);
        upstream.Start(1024);
        var upstreamPort = ((IPEndPoint)upstream.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        var serving = ServeSlowlyAsync(upstream, stop.Token);
        using var server = Start(workerClass, out var port);

        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => GetAsync(port, $"/upstream?{upstreamPort}", 120)));
        clock.Stop();
        await stop.CancelAsync();

        Assert.All(results, r => Assert.Equal((200, "upstream\n"), r));
        // One at a time this is 200 s.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), $"took {clock.Elapsed}");
        await IgnoreFailure(serving);
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public async Task Subprocess_run_in_requests_waits_cooperatively_for_the_child(string workerClass)
    {
        // gevent watches children only on its default loop, which belongs to the thread gevent counts as main: under
        // Gunicorn the worker's one thread. Here that must be the hub's, or subprocess.run raises a TypeError.
        using var server = Start(workerClass, out var port);

        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => GetAsync(port, "/subprocess?1", 60)));
        clock.Stop();

        Assert.All(results, r => Assert.Equal((200, "exit 0"), r));
        // One at a time this is 8 s.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"took {clock.Elapsed}");
        // gevent's subprocess forks and execs: it is the subprocess the os.fork() warning advises, so no warning.
        UnicornServer.Get(port, "/log?children-done");
        server.WaitForLog("children-done");
        Assert.DoesNotContain("os.fork() called", server.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gevent", "import: _UnixSelectorEventLoop; request: RuntimeError: There is no current event loop")]
    [InlineData("eventlet", "import: RuntimeError: There is no current event loop; request: RuntimeError: There is no current event loop")]
    public void Asyncio_get_event_loop_at_import_behaves_as_on_gunicorns_main_thread(string workerClass, string expected)
    {
        // Gunicorn 20.1 imports the app on the worker's main thread: asyncio makes a loop there under gevent (eventlet's
        // patched current_thread() is not the main thread, so it raises); a request's greenlet gets none under either.
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(["pyfixtures.greenlet_asyncio:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass]);
        server.WaitUntilServing(port, 120);

        Assert.Equal(expected, UnicornServer.Get(port, "/").Body);
    }

    [Fact]
    public async Task Worker_connections_caps_the_requests_in_the_app_and_the_rest_wait()
    {
        using var server = Start("gevent", out var port, "--worker-connections", "10");

        // Each client's request is sent before the next connects. Those past the cap wait in the listen queue: none is
        // shed, since a connection whose request is arriving is not idle (ConnectionSlotTests).
        var pending = new List<Task<(int Status, string Body)>>();
        for (var i = 0; i < 30; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port);
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /sleep?1 HTTP/1.0\r\nHost: localhost\r\n\r\n"));
            pending.Add(ReadResponseAsync(socket, 120));
        }

        var results = await Task.WhenAll(pending);

        Assert.All(results, r => Assert.Equal(200, r.Status));
        var most = int.Parse(UnicornServer.Get(port, "/most").Body, CultureInfo.InvariantCulture);
        Assert.InRange(most, 2, 10);
    }

    [Fact]
    public async Task A_streaming_generator_reaches_two_hundred_slow_clients_at_once()
    {
        using var server = Start("gevent", out var port);
        var expected = string.Concat(Enumerable.Range(0, 20).Select(i => $"chunk {i:00}\n"));

        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => GetAsync(port, "/stream", 120, readDelayMs: 20)));
        clock.Stop();

        Assert.All(results, r => Assert.Equal((200, expected), r));
        // Each stream takes 1 s of sleeps; one after another this is 200 s.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public async Task A_ten_mebibyte_chunked_upload_is_read_through_wsgi_input(string workerClass)
    {
        using var server = Start(workerClass, out var port);
        var body = new byte[10 << 20];
        new Random(15).NextBytes(body);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        await client.SendAsync(Encoding.ASCII.GetBytes("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"));
        for (var offset = 0; offset < body.Length; offset += 100_000)
        {
            var n = Math.Min(100_000, body.Length - offset);
            await client.SendAsync(Encoding.ASCII.GetBytes(n.ToString("x", CultureInfo.InvariantCulture) + "\r\n"));
            await client.SendAsync(body.AsMemory(offset, n));
            await client.SendAsync("\r\n"u8.ToArray());
        }

        await client.SendAsync("0\r\n\r\n"u8.ToArray());
        var response = await ReadAllAsync(client, 60);

        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        Assert.EndsWith($"{body.Length} {Convert.ToHexStringLower(SHA256.HashData(body))}", response, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public async Task Bad_chunked_framing_met_by_a_streamed_read_is_the_clients_400_not_an_app_error(string workerClass)
    {
        // Two MiB of good chunks (so the body streams to the greenlet), then a chunk size that is not hex: the read
        // that meets it, let propagate by the app, is a 400 with one warning, as under gthread; it was an
        // "Error handling request" traceback and a 500 (the read raised RuntimeError, not OSError).
        using var server = Start(workerClass, out var port);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        var request = new MemoryStream();
        request.Write("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"u8);
        for (var i = 0; i < 32; i++)
        {
            request.Write("10000\r\n"u8);
            request.Write(new byte[0x10000]);
            request.Write("\r\n"u8);
        }

        request.Write("zz\r\nabc\r\n0\r\n\r\n"u8);
        await client.SendAsync(request.ToArray());
        var response = await ReadAllAsync(client, 30);

        Assert.StartsWith("HTTP/1.1 400 Bad Request", response, StringComparison.Ordinal);
        server.WaitForLog("Invalid request from ip=127.0.0.1: Invalid chunk size: 'zz'");
        Assert.Equal(200, (await TryGetAsync(port, "/sleep?0", 30)).Status);
        Assert.DoesNotContain(server.Lines, l => l.Contains("Error handling request", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public void A_response_that_breaks_pep_3333_is_one_error_line_naming_the_request_as_under_the_threaded_workers(string workerClass)
    {
        // The sync and gthread workers log "Error handling request GET /path: invalid response from the application:
        // ..." (docs/differences.md); the greenlet workers logged the server's own RuntimeError with a traceback
        // through unicorn_greenlet.py.
        using var server = Start(workerClass, out var port);

        Assert.Equal(500, UnicornServer.Get(port, "/bad-status").Status);
        Assert.Equal(500, UnicornServer.Get(port, "/bad-status?stream").Status);
        Assert.Equal(500, UnicornServer.Get(port, "/bad-header").Status);
        server.WaitForLog("Error handling request GET /bad-status: invalid response from the application: invalid status '200'");
        server.WaitForLog("Error handling request GET /bad-status?stream: invalid response from the application: invalid status '200'");
        server.WaitForLog("Error handling request GET /bad-header: invalid response from the application: ");
        Assert.Equal(200, UnicornServer.Get(port, "/").Status);
        Assert.DoesNotContain(server.Lines, l => l.Contains("Traceback", StringComparison.Ordinal) || l.Contains("RuntimeError", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public async Task Headers_changed_after_start_response_do_not_change_the_response(string workerClass)
    {
        // Gunicorn takes the headers when start_response is called; changes the app makes to its list afterwards
        // were sent (the list was read when the first body item went out).
        using var server = Start(workerClass, out var port);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        await client.SendAsync("GET /headers-changed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        var response = await ReadAllAsync(client, 30);

        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        Assert.Contains("\r\nX-Kind: original\r\n", response, StringComparison.Ordinal);
        Assert.DoesNotContain("X-Added", response, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(512 << 10, false)] // Content-Length under 1 MiB: read before the app runs, left in the receive buffers
    [InlineData(3 << 20, false)]   // over 1 MiB: streamed to the greenlet as it arrives
    [InlineData(3 << 20, true)]    // chunked, each chunk's size line split across two sends
    public async Task An_upload_reaches_a_gevent_app_byte_exact_however_it_arrives(int size, bool chunked)
    {
        using var server = Start("gevent", out var port);
        var body = new byte[size];
        new Random(size).NextBytes(body);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port);
        var framing = chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {size}";
        await client.SendAsync(Encoding.ASCII.GetBytes($"POST /upload HTTP/1.1\r\nHost: x\r\n{framing}\r\nConnection: close\r\n\r\n"));
        // Uneven pieces with pauses, so the greenlet's reads find part of the body, none of it, or a split size line.
        var piece = 0;
        for (var offset = 0; offset < size; offset += 65_521, piece++)
        {
            var n = Math.Min(65_521, size - offset);
            if (chunked)
            {
                var line = n.ToString("x", CultureInfo.InvariantCulture) + "\r\n";
                await client.SendAsync(Encoding.ASCII.GetBytes(line[..2]));
                await Task.Delay(5);
                await client.SendAsync(Encoding.ASCII.GetBytes(line[2..]));
            }

            await client.SendAsync(body.AsMemory(offset, n));
            if (chunked)
            {
                await client.SendAsync("\r\n"u8.ToArray());
            }

            if (piece % 8 == 0)
            {
                await Task.Delay(20);
            }
        }

        if (chunked)
        {
            await client.SendAsync("0\r\n\r\n"u8.ToArray());
        }

        var response = await ReadAllAsync(client, 60);

        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        Assert.EndsWith($"{size} {Convert.ToHexStringLower(SHA256.HashData(body))}", response, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public async Task Graceful_stop_lets_running_greenlets_finish(string workerClass)
    {
        using var server = Start(workerClass, out var port, "--graceful-timeout", "20");

        var slow = Enumerable.Range(0, 20).Select(_ => GetAsync(port, "/sleep?3", 60)).ToArray();
        await Task.Delay(1000);
        server.Signal(UnicornServer.SIGTERM);

        Assert.All(await Task.WhenAll(slow), r => Assert.Equal((200, "slept\n"), r));
        Assert.Equal(0, server.WaitForExit(30));
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public async Task Quit_ends_long_polls_at_once_with_greenlet_exit_as_gunicorns_worker_exits(string workerClass)
    {
        using var server = Start(workerClass, out var port, "--graceful-timeout", "60");
        var polls = Enumerable.Range(0, 3).Select(_ => IgnoreFailure(GetAsync(port, "/sleep-noting-end?60", 90))).ToArray();
        Assert.True(UnicornServer.Poll(() => UnicornServer.Get(port, "/most").Body == "3", 60), server.Log);

        var clock = Stopwatch.StartNew();
        server.Signal(UnicornServer.SIGQUIT);

        Assert.Equal(0, server.WaitForExit(30));
        await Task.WhenAll(polls);
        // The killed greenlets unwound (their finally blocks ran), so the worker left without waiting out its
        // last-resort 2 s for a thread stuck in C code, and without claiming one was.
        server.WaitForLog("sleep ended by GreenletExit", times: 3);
        Assert.DoesNotContain("did not stop in time", server.Log, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}\n{server.Log}");
    }

    [Fact]
    public async Task A_recycled_gevent_worker_past_graceful_timeout_logs_gunicorns_line_and_kills_its_long_polls()
    {
        using var server = Start("gevent", out var port, "--graceful-timeout", "2");
        var poll = IgnoreFailure(GetAsync(port, "/sleep-noting-end?60", 90));
        Assert.True(UnicornServer.Poll(() => UnicornServer.Get(port, "/most").Body == "1", 60), server.Log);

        server.Signal(UnicornServer.SIGHUP);

        // The old worker's own deadline (the master's for a recycled worker is later): Gunicorn's gevent worker line,
        // then its greenlets are killed, not waited for.
        server.WaitForLog("[WARNING] Worker graceful timeout (pid:", seconds: 60);
        server.WaitForLog("sleep ended by GreenletExit", seconds: 30);
        await poll;
        Assert.DoesNotContain("did not stop in time", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_greenlet_that_blocks_the_hub_times_the_worker_out_with_every_greenlets_stack()
    {
        using var server = Start("gevent", out var port, "--timeout", "3");
        var waiting = GetAsync(port, "/sleep?60", 90); // a suspended greenlet, whose stack must be in the dump
        await Task.Delay(500);
        var blocking = GetAsync(port, "/block", 90);

        server.WaitForLog("WORKER TIMEOUT", seconds: 60);
        server.WaitForLog("Booting worker", times: 2, seconds: 60);

        // The dump is written as the worker dies; the log reader may trail it.
        Assert.True(UnicornServer.Poll(() => server.Log.Contains("in app\n    time.sleep(seconds)", StringComparison.Ordinal), 30), server.Log);
        var log = server.Log;
        Assert.Contains("was aborted after a timeout", log, StringComparison.Ordinal);
        Assert.Contains("greenlet_apps.py\", line", log, StringComparison.Ordinal); // the blocking greenlet, on the hub thread
        Assert.Contains("in app\n    time.sleep(seconds)", log, StringComparison.Ordinal); // the suspended one
        await Task.WhenAll(IgnoreFailure(waiting), IgnoreFailure(blocking));
    }

    [Fact]
    public async Task A_finished_requests_greenlet_serves_the_next_in_a_fresh_context()
    {
        using var server = Start("gevent", out var port);

        // One request at a time: each is handed the greenlet the previous one finished in (no new greenlet,
        // no new frame stack per request), yet never sees a context variable an earlier request set.
        var seen = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var (status, body) = await GetAsync(port, "/context", 30);
            Assert.Equal(200, status);
            seen.Add(body);
        }

        Assert.All(seen, body => Assert.StartsWith("unset ", body, StringComparison.Ordinal));
        // The body's number is how many requests its greenlet has served.
        Assert.Contains(seen, body => body.Split(' ')[1] != "1");
    }

    [Fact]
    public async Task A_greenlet_whose_request_waited_serves_the_next_request()
    {
        using var server = Start("gevent", out var port);

        // Each request sleeps first, so the hub's timer resumed its greenlet and, at the request's end, the hub's
        // frame that did so still holds the greenlet: it must serve the next request anyway (not end, and cost a
        // new greenlet and frame stack per request), in a fresh context.
        var seen = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var (status, body) = await GetAsync(port, "/context?0.01", 30);
            Assert.Equal(200, status);
            seen.Add(body);
        }

        Assert.All(seen, body => Assert.StartsWith("unset ", body, StringComparison.Ordinal));
        Assert.Contains(seen, body => body.Split(' ')[1] != "1");
    }

    [Fact]
    public async Task Hundreds_of_greenlets_that_finished_together_all_serve_the_next_wave()
    {
        using var server = Start("gevent", out var port);

        // 400 requests sleep together (each waits for the whole wave, however slowly a loaded machine sends it, then
        // sleeps a second), so their timers end them in one batch, before the hub takes any request that follows:
        // every one of their greenlets parks (not only the first 256), and the next wave runs on them.
        const int Wave = 400;
        var wave = $"/context?wave={Wave}";
        var first = await Task.WhenAll(Enumerable.Range(0, Wave).Select(_ => GetAsync(port, wave, 120)));
        var second = await Task.WhenAll(Enumerable.Range(0, Wave).Select(_ => GetAsync(port, wave, 120)));

        Assert.All(first.Concat(second), r => Assert.Equal(200, r.Status));
        Assert.All(first.Concat(second), r => Assert.StartsWith("unset ", r.Body, StringComparison.Ordinal));
        var fresh = second.Count(r => r.Body.Split(' ')[1] == "1");
        Assert.True(fresh < Wave / 4, $"{fresh} of the second wave's {Wave} requests ran on a new greenlet");

        // Parked a few seconds with nothing to serve, all but 256 end (a burst's greenlets are not kept forever).
        await Task.Delay(4000);
        var third = await Task.WhenAll(Enumerable.Range(0, Wave).Select(_ => GetAsync(port, wave, 120)));
        Assert.All(third, r => Assert.Equal(200, r.Status));
        var renewed = third.Count(r => r.Body.Split(' ')[1] == "1");
        Assert.True(renewed >= Wave - 256, $"only {renewed} of the third wave's {Wave} requests ran on a new greenlet");
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public async Task Greenlet_local_values_a_request_set_are_gone_in_the_next_request_on_the_same_greenlet(string workerClass)
    {
        using var server = Start(workerClass, out var port);

        // Each request reads, then sets: threading.local (patched), the library's own local, a local subclass
        // whose __init__ sets a default, an attribute on threading.current_thread() and, with ?attr, one on
        // getcurrent(). The body ends with id(getcurrent()) and how many requests that greenlet has served.
        var bodies = new List<string[]>();
        foreach (var path in new[] { "/local", "/local", "/local", "/local?attr", "/local", "/local", "/local?link", "/local", "/local" })
        {
            var (status, body) = await GetAsync(port, path, 30);
            Assert.Equal(200, status);
            bodies.Add(body.Split(' '));
        }

        Assert.All(bodies, fields => Assert.Equal(["unset", "unset", "unset", "unset", "unset"], fields[..5]));
        var reused = bodies.Where(fields => fields[6] != "1").ToList();
        if (workerClass == "gevent")
        {
            // The same greenlet (same id, a count above one) served later requests; a greenlet the app set an
            // attribute on or linked to is not reused, so the request after /local?attr or /local?link runs on
            // a greenlet new to the app.
            Assert.NotEmpty(reused);
            Assert.All(reused, fields => Assert.Contains(bodies, earlier => earlier[5] == fields[5] && earlier[6] == "1"));
            Assert.Equal("1", bodies[4][6]);
            Assert.Equal("1", bodies[7][6]);
        }
        else
        {
            // eventlet's locals live in the local objects, out of the server's reach: no greenlet serves twice.
            Assert.Empty(reused);
        }
    }

    [Fact]
    public async Task A_timeout_a_request_left_running_never_fires_in_a_later_request()
    {
        using var server = Start("gevent", out var port);

        // The timer still holds the first request's greenlet, so it is not reused: the sleep that follows runs on
        // another greenlet, past the moment the timeout fires, and is answered.
        Assert.Equal((200, "started\n"), await GetAsync(port, "/timeout-left-running?1", 30));
        Assert.Equal((200, "slept\n"), await GetAsync(port, "/sleep?2", 30));
        Assert.Equal((200, "slept\n"), await GetAsync(port, "/sleep?0.1", 30));
    }

    [Fact]
    public async Task A_timeout_left_running_on_a_greenlet_that_served_before_never_fires_in_a_later_request()
    {
        using var server = Start("gevent", out var port);

        // Two plain requests first, so the greenlet has parked and been handed a request before: the one that leaves
        // a timeout running is then checked when the next request reaches it, not when it parks.
        Assert.Equal((200, "hello\n"), await GetAsync(port, "/", 30));
        Assert.Equal((200, "hello\n"), await GetAsync(port, "/", 30));
        Assert.Equal((200, "started\n"), await GetAsync(port, "/timeout-left-running?0.5", 30));
        await Task.Delay(1500); // it fires while its greenlet is parked: that greenlet ends, quietly
        Assert.Equal((200, "hello\n"), await GetAsync(port, "/", 30));
        Assert.Equal((200, "hello\n"), await GetAsync(port, "/", 30));
        Assert.Equal((200, "started\n"), await GetAsync(port, "/timeout-left-running?1", 30));
        Assert.Equal((200, "slept\n"), await GetAsync(port, "/sleep?2", 30)); // runs past the moment it fires
        Assert.Equal((200, "slept\n"), await GetAsync(port, "/sleep?0.1", 30));
        Assert.DoesNotContain("Traceback", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_never_reads_holds_only_its_own_greenlet()
    {
        using var server = Start("gevent", out var port);
        var worker = server.Workers().Single();
        var rssBefore = RssMiB(worker);

        // Asks for 200 MiB and never reads: the greenlet must wait once the socket and a bounded queue are full.
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync(IPAddress.Loopback, port);
        await stalled.SendAsync(Encoding.ASCII.GetBytes("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
        await Task.Delay(3000);

        var clock = Stopwatch.StartNew();
        var others = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => GetAsync(port, "/", 30)));
        Assert.All(others, r => Assert.Equal((200, "hello\n"), r));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
        Assert.True(RssMiB(worker) - rssBefore < 64, $"worker grew from {rssBefore} MiB to {RssMiB(worker)} MiB");
    }

    [Fact]
    public async Task Ten_thousand_idle_connections_cost_no_greenlet_and_others_are_served_at_once()
    {
        const int Idle = 10_000;

        // Each side holds one fd per connection: the test process here, the worker there. The server starts
        // with a soft limit of 1024 (a common default) and must raise its own soft limit to the hard one.
        FileLimit.EnsureAtLeast(Idle + 2_000);
        using var server = StartWithLowSoftFileLimit(out var port, "--worker-connections", "10200", "--keep-alive", "120");
        var worker = server.Workers().Single();
        var (soft, hard) = FileLimit.Of(worker);
        Assert.Equal(hard, soft);
        var rssBefore = RssMiB(worker);

        var idle = new Socket[Idle];
        try
        {
            // 100 connects in flight at a time: fast, and well inside the listen backlog.
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < Idle)
                {
                    idle[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    await idle[i].ConnectAsync(IPAddress.Loopback, port);
                }
            }));

            // The worker has accepted every one of them (a connect only needs the kernel's backlog).
            var deadline = Stopwatch.StartNew();
            while (OpenSockets(worker) < Idle && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }

            Assert.True(OpenSockets(worker) >= Idle, $"the worker holds {OpenSockets(worker)} sockets, not {Idle}");

            var clock = Stopwatch.StartNew();
            Assert.Equal((200, "hello\n"), await GetAsync(port, "/", 30));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"one request beside {Idle} idle connections took {clock.Elapsed}");
            var others = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => GetAsync(port, "/", 30)));
            Assert.All(others, r => Assert.Equal((200, "hello\n"), r));

            // Bounded: an idle connection costs its socket and connection state in C# (about 12 KiB: 120 MiB
            // measured for 10,000 on the loaded test machine), no greenlet and no Python object; worker_connections caps the count.
            var grown = RssMiB(worker) - rssBefore;
            Assert.True(grown < 160, $"the worker grew {grown} MiB (from {rssBefore} MiB) for {Idle} idle connections");

            // They were held, not dropped: the first and last idle connections are still served.
            foreach (var s in new[] { idle[0], idle[Idle - 1] })
            {
                await s.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"));
                Assert.EndsWith("\r\n\r\nhello\n", await ReadAllAsync(s, 30), StringComparison.Ordinal);
            }

            Assert.DoesNotContain(server.Lines, l => l.Contains("Too many open files", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var s in idle)
            {
                s?.Dispose();
            }
        }
    }

    [Fact]
    public void A_missing_library_is_one_line_naming_it_and_the_worker_fails_to_boot()
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-nogevent-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "gevent"));
            File.WriteAllText(Path.Combine(dir.FullName, "gevent", "__init__.py"), "raise ImportError('No module named gevent')\n");
            var port = UnicornServer.FreePort();
            using var server = UnicornServer.Start(App, "-b", $"127.0.0.1:{port}", "-w", "1", "-k", "gevent", "--pythonpath", dir.FullName);

            Assert.Equal(3, server.WaitForExit(60));
            Assert.Contains("gevent worker requires gevent 1.4 or higher", server.Lines);
            Assert.DoesNotContain(server.Lines, l => l.Contains("   at ", StringComparison.Ordinal));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public void Threads_the_app_and_the_worker_hooks_start_outside_a_request_keep_running(string workerClass)
    {
        // Patched, a thread is a greenlet of the hub of the thread that started it. The import and the hooks used to
        // run on another thread than the hub's: those greenlets never ran, and a QueueListener started at import left
        // every request that logged waiting for ever on its full queue's lock.
        var dir = Directory.CreateTempSubdirectory("unicorn-greenlet-bg-");
        try
        {
            var config = Path.Combine(dir.FullName, "gunicorn.conf.py");
            File.WriteAllText(config, """
                from pyfixtures.greenlet_ticks import start


                def post_fork(server, worker):
                    start("post_fork_thread")


                def post_worker_init(worker):
                    start("post_worker_init_thread")
                """);
            var port = UnicornServer.FreePort();
            using var server = UnicornServer.Start(["pyfixtures.greenlet_background:app", "-c", config, "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass]);
            server.WaitUntilServing(port, 120);

            var (status, body) = UnicornServer.Get(port, "/first", 30);
            Thread.Sleep(500);
            var later = UnicornServer.Get(port, "/second", 30).Body;

            Assert.Equal(200, status);
            Assert.Contains("['request /second']", later, StringComparison.Ordinal);
            foreach (var key in new[] { "import_thread", "post_fork_thread", "post_worker_init_thread" })
            {
                Assert.True(Ticks(later, key) > Ticks(body, key), $"{key} did not run: {body} then {later}");
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static int Ticks(string body, string key)
    {
        var at = body.IndexOf($"('{key}', ", StringComparison.Ordinal) + key.Length + 5;
        return int.Parse(body[at..body.IndexOf(')', at)], CultureInfo.InvariantCulture);
    }

    private static UnicornServer Start(string workerClass, out int port, params string[] extra)
    {
        port = UnicornServer.FreePort();
        var server = UnicornServer.Start([App, "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, .. extra]);
        server.WaitUntilServing(port, 120);
        return server;
    }

    private static UnicornServer StartWithLowSoftFileLimit(out int port, params string[] extra)
    {
        port = UnicornServer.FreePort();
        var server = UnicornServer.StartInShell("ulimit -Sn 1024;", [App, "-b", $"127.0.0.1:{port}", "-w", "1", "-k", "gevent", .. extra]);
        server.WaitUntilServing(port, 120);
        return server;
    }

    private static int OpenSockets(int pid) =>
        Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count(fd => new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true);

    private static async Task<(int Status, string Body)> GetAsync(int port, string path, double timeoutSeconds, int readDelayMs = 0)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n"));
        var text = await ReadAllAsync(socket, timeoutSeconds, readDelayMs);
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (!text.StartsWith("HTTP/1.", StringComparison.Ordinal) || headEnd < 0)
        {
            throw new IOException($"no HTTP response: '{text}'");
        }

        return (int.Parse(text.AsSpan(9, 3), CultureInfo.InvariantCulture), text[(headEnd + 4)..]);
    }

    private static async Task<(int Status, string Body)> ReadResponseAsync(Socket socket, double timeoutSeconds)
    {
        using (socket)
        {
            var text = await ReadAllAsync(socket, timeoutSeconds);
            var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (!text.StartsWith("HTTP/1.", StringComparison.Ordinal) || headEnd < 0)
            {
                throw new IOException($"no HTTP response: '{text}'");
            }

            return (int.Parse(text.AsSpan(9, 3), CultureInfo.InvariantCulture), text[(headEnd + 4)..]);
        }
    }

    private static async Task<(int Status, string Body)> TryGetAsync(int port, string path, double timeoutSeconds)
    {
        try
        {
            return await GetAsync(port, path, timeoutSeconds);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            return (0, e.Message);
        }
    }

    private static async Task<string> ReadAllAsync(Socket socket, double timeoutSeconds, int readDelayMs = 0)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        var response = new MemoryStream();
        var buffer = new byte[readDelayMs > 0 ? 16 : 65536];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
        {
            response.Write(buffer, 0, n);
            if (readDelayMs > 0)
            {
                await Task.Delay(readDelayMs, cts.Token);
            }
        }

        return Encoding.Latin1.GetString(response.ToArray());
    }

    private static async Task ServeSlowlyAsync(TcpListener listener, CancellationToken stop)
    {
        var clients = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            var client = await listener.AcceptSocketAsync(stop);
            clients.Add(Task.Run(async () =>
            {
                using (client)
                {
                    var head = new StringBuilder();
                    var buffer = new byte[4096];
                    while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var n = await client.ReceiveAsync(buffer, SocketFlags.None, stop);
                        if (n == 0)
                        {
                            return;
                        }

                        head.Append(Encoding.Latin1.GetString(buffer, 0, n));
                    }

                    await Task.Delay(1000, stop);
                    await client.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nupstream\n"u8.ToArray(), stop);
                }
            }, stop));
        }

        await Task.WhenAll(clients);
    }

    private static async Task IgnoreFailure(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            // The worker was killed under it: expected.
        }
    }

    private static long RssMiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}
