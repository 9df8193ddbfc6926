using Unicorn.PythonBridge.Tests.Support;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.Tests;

[Collection(PythonCollection.Name)]
public sealed class ResponseTests(PythonFixture python)
{
    private FakeSink Run(string app, FakeSink? sink = null, string query = "")
    {
        using var thread = new AppThread(python.Load(app));
        return thread.Invoke(AppThread.Request(query: query), sink);
    }

    private int ClosedCount() => int.Parse(python.Eval("len(__import__('pyfixtures.bridge_apps').bridge_apps.CLOSED)"), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Write_sends_headers_then_data_before_the_returned_body()
    {
        var sink = Run("bridge_apps:writer");
        Assert.Equal("200 OK", sink.Status);
        Assert.Equal("one two three", sink.BodyText);
        Assert.True(sink.Flushes >= 2);
        Assert.True(sink.Completed);
    }

    [Fact]
    public void Generator_items_are_all_written_in_order()
    {
        var sink = Run("bridge_apps:generator");
        Assert.Equal("chunk0 chunk1 chunk2 ", sink.BodyText);
        Assert.Equal(3, sink.Writes);
        Assert.True(sink.Completed);
    }

    [Fact]
    public void Generator_items_yielded_back_to_back_leave_together_after_the_first()
    {
        // The first item leaves at once with the head; the next ones, produced at once, go with the response's end
        // (one flush each was 50 sends). An item the OS delayed by more than 0.1 ms may leave alone: a few at most.
        var sink = Run("bridge_apps:many_items");
        Assert.Equal(string.Concat(Enumerable.Range(0, 50).Select(i => $"{i:00} ")), sink.BodyText);
        Assert.Equal(50, sink.Writes);
        Assert.InRange(sink.Flushes, 1, 10);
        Assert.True(sink.Completed);
    }

    [Fact]
    public void Items_the_app_is_slow_to_produce_each_leave_at_once()
    {
        var sink = Run("bridge_apps:slow_items");
        Assert.Equal("slow0 slow1 slow2 ", sink.BodyText);
        Assert.Equal(3, sink.Flushes);
    }

    [Fact]
    public void A_held_item_leaves_while_the_app_is_still_producing_the_next()
    {
        // PEP 3333: a server may hold a block only if transmission continues while the app produces the next.
        var sink = Run("bridge_apps:held_then_slow");
        Assert.Equal("first second third", sink.BodyText);
        var resumed = double.Parse(python.Eval("__import__('pyfixtures.bridge_apps').bridge_apps.HELD['resumed']"), System.Globalization.CultureInfo.InvariantCulture);
        var second = sink.FlushLog.First(f => f.Length >= "first second ".Length);
        Assert.True((double)second.Ticks / System.Diagnostics.Stopwatch.Frequency < resumed, "the second item waited for the third");
    }

    [Fact]
    public void A_client_gone_while_an_item_was_held_ends_the_response_and_closes_the_iterable()
    {
        var before = ClosedCount();
        var sink = Run("bridge_apps:held_then_gone", new FakeSink { FailOnFlush = 2 });
        Assert.True(sink.Aborted);
        Assert.False(sink.Completed);
        Assert.Equal(2, sink.Flushes); // the head and first item, then the held one, which failed
        Assert.Equal(before + 1, ClosedCount());
    }

    [Fact]
    public void GIL_is_released_while_the_sink_writes()
    {
        using var thread = new AppThread(python.Load("bridge_apps:generator"));
        var sink = thread.Invoke(AppThread.Request(), new FakeSink { GilProbe = Gil.IsHeld });
        Assert.NotEmpty(sink.GilHeldDuringWrite);
        Assert.All(sink.GilHeldDuringWrite, Assert.False);
    }

    [Fact]
    public void A_small_one_item_body_goes_out_whole_in_one_immediate_send_with_the_GIL_held()
    {
        // Giving the GIL up and back around a send that does not wait is two GIL hand-overs per request between
        // gthread's threads (futex wakes and context switches) for nothing.
        using var thread = new AppThread(python.Load("bridge_apps:one_item"));
        var sink = thread.Invoke(AppThread.Request(), new FakeSink { GilProbe = Gil.IsHeld, Immediate = ImmediateResponse.Sent });
        Assert.Equal("hello", sink.BodyText);
        Assert.Equal(1, sink.ImmediateCalls);
        Assert.Equal([true], sink.GilHeldDuringImmediate);
        Assert.Equal(0, sink.Writes);
        Assert.Equal(0, sink.Flushes);
    }

    [Fact]
    public void What_a_full_socket_did_not_take_is_flushed_with_the_GIL_released()
    {
        using var thread = new AppThread(python.Load("bridge_apps:one_item"));
        var sink = thread.Invoke(AppThread.Request(), new FakeSink { GilProbe = Gil.IsHeld, Immediate = ImmediateResponse.Buffered });
        Assert.Equal("hello", sink.BodyText);
        Assert.Equal(1, sink.ImmediateCalls);
        Assert.Equal([false], sink.GilHeldDuringFlush);
        Assert.Equal(0, sink.Writes);
    }

    [Theory]
    [InlineData("bridge_apps:big_item")]
    [InlineData("bridge_apps:closing_ok")]
    public void A_large_or_many_item_body_takes_the_blocking_writes_without_the_GIL(string app)
    {
        using var thread = new AppThread(python.Load(app));
        var sink = thread.Invoke(AppThread.Request(), new FakeSink { GilProbe = Gil.IsHeld, Immediate = ImmediateResponse.Sent });
        Assert.Equal(0, sink.ImmediateCalls);
        Assert.NotEmpty(sink.GilHeldDuringWrite);
        Assert.All(sink.GilHeldDuringWrite, Assert.False);
        Assert.True(sink.Completed);
    }

    [Fact]
    public void Start_response_may_wait_for_the_first_item()
    {
        var sink = Run("bridge_apps:lazy_start");
        Assert.Equal("200 OK", sink.Status);
        Assert.Equal("late", sink.BodyText);
    }

    [Fact]
    public void Close_is_called_after_success()
    {
        var before = ClosedCount();
        var sink = Run("bridge_apps:closing_ok");
        Assert.Equal("abc", sink.BodyText);
        Assert.Equal(before + 1, ClosedCount());
    }

    [Fact]
    public void Close_is_called_when_iteration_raises_and_the_response_is_aborted()
    {
        var before = ClosedCount();
        var log = python.Log.During(() =>
        {
            var sink = Run("bridge_apps:closing_fails");
            Assert.Equal("a", sink.BodyText);
            Assert.True(sink.Aborted);
            Assert.False(sink.Completed);
        });
        Assert.Equal(before + 1, ClosedCount());
        Assert.Contains(log, e => e.Level == LogLevel.Error && e.Message.Contains("boom in iteration", StringComparison.Ordinal));
    }

    [Fact]
    public void Close_is_called_when_the_client_goes_away()
    {
        var before = ClosedCount();
        var sink = Run("bridge_apps:closing_ok", new FakeSink { FailOnWrite = 1 });
        Assert.True(sink.Aborted);
        Assert.False(sink.Completed);
        Assert.Equal(before + 1, ClosedCount());
    }

    [Fact]
    public void A_sink_out_of_memory_is_one_line_naming_the_request_the_iterable_closed_and_the_thread_serving_on()
    {
        // Under a small worker_heap_limit the response's buffer may fail to grow. That OutOfMemoryException ends the
        // response as any other sink failure, as the greenlet host does: it escaped to the connection, which logged
        // it with its .NET stack trace, and close() was never called.
        var before = ClosedCount();
        using var thread = new AppThread(python.Load("bridge_apps:closing_ok"));
        var failing = new FakeSink { FailOnWrite = 1, FailWith = () => new OutOfMemoryException("no room in the heap") };
        var log = python.Log.During(() => thread.Invoke(AppThread.Request(path: "/x"), failing));
        Assert.True(failing.Aborted);
        Assert.False(failing.Completed);
        Assert.Equal(before + 1, ClosedCount());
        var entry = Assert.Single(log, e => e.Level >= LogLevel.Error);
        Assert.Equal("Error handling request GET /x: OutOfMemoryException: no room in the heap", entry.Message);

        var next = thread.Invoke(AppThread.Request());
        Assert.Equal("abc", next.BodyText);
        Assert.True(next.Completed);
    }

    [Fact]
    public void A_sink_out_of_memory_while_sending_the_500_page_is_one_line_and_the_thread_serves_on()
    {
        using var thread = new AppThread(python.Load("bridge_apps:raise_before"));
        var failing = new FakeSink { FailOnWrite = 1, FailWith = () => new OutOfMemoryException("no room in the heap") };
        var log = python.Log.During(() => thread.Invoke(AppThread.Request(path: "/x"), failing));
        Assert.True(failing.Aborted);
        Assert.Contains(log, e => e.Level == LogLevel.Error && e.Message.Contains("ValueError: boom before headers", StringComparison.Ordinal));
        Assert.Contains(log, e => e.Message == "Error handling request GET /x: OutOfMemoryException: no room in the heap");
        Assert.DoesNotContain(log, e => e.Message.Contains(" at Unicorn.", StringComparison.Ordinal));

        var next = thread.Invoke(AppThread.Request());
        Assert.Equal("500 Internal Server Error", next.Status);
        Assert.True(next.Completed);
    }

    [Fact]
    public void Write_to_a_gone_client_raises_OSError_in_the_app_and_logs_no_error()
    {
        var log = python.Log.During(() =>
        {
            var sink = Run("bridge_apps:write_until_gone", new FakeSink { FailOnWrite = 3 });
            Assert.True(sink.Aborted);
            Assert.False(sink.Completed);
            Assert.Equal(3, sink.Writes);
        });
        Assert.Equal("client disconnected", python.Eval("__import__('pyfixtures.bridge_apps').bridge_apps.WRITE_ERRORS[-1]"));
        Assert.DoesNotContain(log, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public void Exception_before_headers_is_a_500_with_the_traceback_logged()
    {
        var log = python.Log.During(() =>
        {
            var sink = Run("bridge_apps:raise_before");
            Assert.Equal("500 Internal Server Error", sink.Status);
            // Gunicorn's page (util.write_error with no detail), byte for byte.
            Assert.Equal("<html>\n  <head>\n    <title>Internal Server Error</title>\n  </head>\n  <body>\n"
                + "    <h1><p>Internal Server Error</p></h1>\n    \n  </body>\n</html>\n", sink.BodyText);
            Assert.Equal(sink.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), sink.Header("Content-Length"));
            Assert.True(sink.Completed);
        });
        var entry = Assert.Single(log, e => e.Level == LogLevel.Error);
        Assert.StartsWith("Error handling request GET /", entry.Message, StringComparison.Ordinal);
        Assert.Contains("Traceback (most recent call last)", entry.Message, StringComparison.Ordinal);
        Assert.Contains("ValueError: boom before headers", entry.Message, StringComparison.Ordinal);
        Assert.Contains("bridge_apps.py", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Exception_after_headers_aborts_the_connection()
    {
        var log = python.Log.During(() =>
        {
            var sink = Run("bridge_apps:raise_after");
            Assert.Equal("200 OK", sink.Status);
            Assert.Equal("partial", sink.BodyText);
            Assert.True(sink.Aborted);
            Assert.False(sink.Completed);
        });
        Assert.Contains(log, e => e.Message.Contains("ValueError: boom after headers", StringComparison.Ordinal));
    }

    [Fact]
    public void Exc_info_before_headers_sent_replaces_the_status()
    {
        var sink = Run("bridge_apps:exc_info_replace");
        Assert.Equal("503 Service Unavailable", sink.Status);
        Assert.Equal("replaced", sink.BodyText);
        Assert.True(sink.Completed);
    }

    [Fact]
    public void Second_start_response_without_exc_info_is_an_error()
    {
        var log = python.Log.During(() =>
        {
            var sink = Run("bridge_apps:second_call_without_exc_info");
            Assert.Equal("500 Internal Server Error", sink.Status);
        });
        Assert.Contains(log, e => e.Message.Contains("AssertionError", StringComparison.Ordinal)
            && e.Message.Contains("second time", StringComparison.Ordinal));
    }

    [Fact]
    public void Exc_info_after_headers_sent_reraises()
    {
        var sink = Run("bridge_apps:exc_info_after_sent");
        Assert.Equal("200 OK", sink.Status);
        Assert.Equal("sent", sink.BodyText);
        Assert.True(sink.Aborted);
        Assert.Contains("KeyError", python.Eval("__import__('pyfixtures.bridge_apps').bridge_apps.EXC_INFO_AFTER[-1]"), StringComparison.Ordinal);
    }

    [Fact]
    public void Header_with_CRLF_becomes_a_500_and_is_never_sent()
    {
        var log = python.Log.During(() =>
        {
            var sink = Run("bridge_apps:bad_header");
            Assert.Equal("500 Internal Server Error", sink.Status);
            Assert.DoesNotContain(sink.Headers, h => h.Key == "X-Bad");
        });
        Assert.Contains(log, e => e.Level == LogLevel.Error && e.Message.Contains("invalid response", StringComparison.Ordinal));
    }

    [Fact]
    public void Header_value_that_is_not_a_str_is_a_500()
    {
        var sink = Run("bridge_apps:header_not_str");
        Assert.Equal("500 Internal Server Error", sink.Status);
    }

    [Fact]
    public void Header_value_outside_latin1_is_a_500() =>
        Assert.Equal("500 Internal Server Error", Run("bridge_apps:header_not_latin1").Status);

    [Fact]
    public void Header_list_and_tuple_subclasses_are_accepted()
    {
        var sink = Run("bridge_apps:named_tuple_headers");
        Assert.Equal("200 OK", sink.Status);
        Assert.Equal("named", sink.Header("X-Kind"));
    }

    [Fact]
    public void Headers_changed_after_start_response_do_not_change_the_response()
    {
        // Gunicorn takes the headers when start_response is called; a list the app (or another request's thread)
        // changes before the first body item must not reach this response.
        var sink = Run("bridge_apps:headers_changed_after_start_response");
        Assert.Equal("200 OK", sink.Status);
        Assert.Equal("original", sink.Header("X-Kind"));
        Assert.DoesNotContain(sink.Headers, h => h.Key == "X-Added");
    }

    [Fact]
    public void Body_item_that_is_not_bytes_is_a_500()
    {
        var log = python.Log.During(() => Assert.Equal("500 Internal Server Error", Run("bridge_apps:body_not_bytes").Status));
        // One line naming the item, as Gunicorn's "'text' is not a byte" names it.
        Assert.Contains(log, e => e.Message.EndsWith("invalid response from the application: body item 'text' is a str, not bytes", StringComparison.Ordinal));
    }

    [Fact]
    public void Body_without_start_response_is_a_500()
    {
        var log = python.Log.During(() => Assert.Equal("500 Internal Server Error", Run("bridge_apps:no_start_response").Status));
        Assert.Contains(log, e => e.Message.Contains("start_response", StringComparison.Ordinal));
    }

    [Fact]
    public void File_wrapper_uses_sendfile_when_the_sink_can()
    {
        var path = Path.GetTempFileName();
        try
        {
            var data = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();
            File.WriteAllBytes(path, data);
            var sink = Run("bridge_apps:file_wrapper", new FakeSink { CanSendFile = true }, path);
            Assert.Equal(1, sink.SendFileCalls);
            Assert.Equal(0, sink.Writes);
            Assert.Equal(data, sink.Body);
            Assert.True(sink.Completed);

            sink = Run("bridge_apps:file_wrapper", new FakeSink { CanSendFile = false }, path);
            Assert.Equal(1, sink.SendFileCalls);
            Assert.Equal(data, sink.Body);
            Assert.True(sink.Completed);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void File_wrapper_without_fileno_is_read_in_blocks_and_closed()
    {
        var before = int.Parse(python.Eval("len(__import__('pyfixtures.bridge_apps').bridge_apps.FILE_CLOSED)"), System.Globalization.CultureInfo.InvariantCulture);
        var sink = Run("bridge_apps:file_wrapper_no_fileno", new FakeSink { CanSendFile = true });
        Assert.Equal("abcdefghij", sink.BodyText);
        Assert.Equal(0, sink.SendFileCalls);
        Assert.Equal(4, sink.Writes);
        Assert.Equal(before + 1, int.Parse(python.Eval("len(__import__('pyfixtures.bridge_apps').bridge_apps.FILE_CLOSED)"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Worker_keeps_serving_after_app_errors()
    {
        using var thread = new AppThread(python.Load("bridge_apps:raise_before"));
        using var good = new AppThread(python.Load("hello:app"));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("500 Internal Server Error", thread.Invoke(AppThread.Request()).Status);
            Assert.Equal("200 OK", good.Invoke(AppThread.Request()).Status);
        }
    }

    [Fact]
    public void SystemExit_from_the_app_is_a_500_and_the_thread_keeps_serving()
    {
        using var thread = new AppThread(python.Load("bridge_apps:system_exit"));
        Assert.Equal("500 Internal Server Error", thread.Invoke(AppThread.Request()).Status);
        Assert.Equal("500 Internal Server Error", thread.Invoke(AppThread.Request()).Status);
    }

    [Fact]
    public void Validator_wrapped_apps_raise_nothing()
    {
        var log = python.Log.During(() =>
        {
            using var thread = new AppThread(python.Load("validated:app"));
            var body = new Unicorn.Wsgi.Application.BufferedRequestBody("hello"u8.ToArray());
            var sink = thread.Invoke(AppThread.Request("POST", headers: [new("Host", "h"), new("Content-Length", "5")], body: body));
            Assert.True(sink.Status == "200 OK", string.Join("\n", python.Log.Entries.Select(e => e.Message).TakeLast(2)));
            Assert.Equal("ok:hello", sink.BodyText);

            using var streaming = new AppThread(python.Load("validated:streaming"));
            sink = streaming.Invoke(AppThread.Request("POST", body: new StreamedBody("x\n"u8.ToArray(), "y"u8.ToArray())));
            Assert.Equal("200 OK", sink.Status);
            Assert.Equal("wab", sink.BodyText);
            Assert.True(sink.Completed);
        });
        Assert.DoesNotContain(log, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public void Flask_app_serves_routes_and_bodies()
    {
        using var thread = new AppThread(python.Load("flask_app:app"));
        var sink = thread.Invoke(AppThread.Request(path: "/hello/caf%C3%A9", query: "via=unicorn"));
        Assert.Equal("200 OK", sink.Status);
        Assert.Equal("Hello café from unicorn", System.Text.Encoding.UTF8.GetString(sink.Body));
        Assert.StartsWith("text/html", sink.Header("Content-Type"), StringComparison.Ordinal);

        var body = new StreamedBody("posted "u8.ToArray(), "data"u8.ToArray());
        sink = thread.Invoke(AppThread.Request("POST", "/echo", headers: [new("Host", "h"), new("Transfer-Encoding", "chunked")], body: body));
        Assert.Equal("200 OK", sink.Status);
        Assert.Equal("posted data", sink.BodyText);

        Assert.Equal("404 NOT FOUND", thread.Invoke(AppThread.Request(path: "/missing")).Status);
    }
}
