using Unicorn.PythonBridge.Tests.Support;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.Tests;

[Collection(PythonCollection.Name)]
public sealed class InputTests(PythonFixture python)
{
    private const string Text = "first line\nsecond\n\nlast without newline";

    public static TheoryData<string, string> Modes => new()
    {
        { "read", Text },
        { "read:7", "[first l][ine\nsec][ond\n\nla][st with][out new][line][]" },
        { "readline", "[first line\n][second\n][\n][last without newline][]" },
        { "readline:4", "[firs][t li][ne\n][seco][nd\n][\n][last][ wit][hout][ new][line][]" },
        { "readlines", "[first line\n][second\n][\n][last without newline]" },
        { "iter", "[first line\n][second\n][\n][last without newline]" },
    };

    private string Echo(string mode, RequestBody body)
    {
        using var thread = new AppThread(python.Load("bridge_apps:echo_input"));
        var sink = thread.Invoke(AppThread.Request("POST", query: mode, body: body));
        Assert.Equal("200 OK", sink.Status);
        return sink.BodyText;
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Buffered_body_reads(string mode, string expected) =>
        Assert.Equal(expected, Echo(mode, new BufferedRequestBody(System.Text.Encoding.ASCII.GetBytes(Text))));

    [Theory]
    [MemberData(nameof(Modes))]
    public void Buffered_body_in_several_buffers_reads(string mode, string expected)
    {
        // Cut across line ends and with an empty buffer, as receive buffers fall.
        var bytes = System.Text.Encoding.ASCII.GetBytes(Text);
        var body = new SegmentedBufferedBody(bytes[..5], bytes[5..11], [], bytes[11..12], bytes[12..]);
        Assert.Equal(expected, Echo(mode, body));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Held_body_is_copied_once_then_reads(string mode, string expected)
    {
        var body = new HeldBody(System.Text.Encoding.ASCII.GetBytes(Text));
        Assert.Equal(expected, Echo(mode, body));
        Assert.Equal(1, body.Copies);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Streamed_body_reads(string mode, string expected)
    {
        // Pieces cut across line ends, as a chunked upload arrives.
        var bytes = System.Text.Encoding.ASCII.GetBytes(Text);
        var pieces = new[] { bytes[..3], bytes[3..12], bytes[12..13], bytes[13..20], bytes[20..] };
        Assert.Equal(expected, Echo(mode, new StreamedBody(pieces)));
    }

    [Theory]
    [InlineData("read", "")]
    [InlineData("read:3", "[]")]
    [InlineData("readline", "[]")]
    [InlineData("readline:4", "[]")]
    [InlineData("readlines", "")]
    [InlineData("iter", "")]
    public void Empty_body_reads(string mode, string expected) => Assert.Equal(expected, Echo(mode, RequestBody.Empty));

    [Fact]
    public void Streamed_body_is_read_in_bounded_pieces_with_the_GIL_released()
    {
        var body = new StreamedBody(Enumerable.Range(0, 50).Select(i => new byte[1000]).ToArray());
        Assert.Equal(50_000, Echo("read", body).Length);
        Assert.True(body.Reads >= 50);
        Assert.All(body.GilHeldDuringRead, Assert.False);
    }

    [Fact]
    public void Large_buffered_body_arrives_intact()
    {
        var data = new byte[3 << 20];
        new Random(7).NextBytes(data);
        using var thread = new AppThread(python.Load("bridge_apps:echo_input"));
        var sink = thread.Invoke(AppThread.Request("POST", query: "read", body: new BufferedRequestBody(data)));
        Assert.Equal(data, sink.Body);
    }

    /// <summary>
    /// A body read that fails because of the client raises OSError in the app; if the app lets it propagate, that
    /// is no app error: no traceback, no 500 to a client that is gone (Gunicorn: "Ignoring connection reset").
    /// </summary>
    [Fact]
    public void Client_gone_mid_body_ends_the_request_with_a_debug_line_not_a_traceback()
    {
        FakeSink? sink = null;
        var log = python.Log.During(() =>
        {
            var body = new StreamedBody("abc"u8.ToArray()) { FailAtEnd = true };
            using var thread = new AppThread(python.Load("bridge_apps:echo_input"));
            sink = thread.Invoke(AppThread.Request("POST", query: "read", body: body));
        });
        Assert.Null(sink!.Status);
        Assert.True(sink.Aborted);
        Assert.Equal([(LogLevel.Debug, "Ignored premature client disconnection. client went away mid-body")], log);
    }

    [Fact]
    public void App_that_handles_the_body_read_error_still_answers()
    {
        var body = new StreamedBody("abc"u8.ToArray()) { FailAtEnd = true };
        using var thread = new AppThread(python.Load("bridge_apps:echo_input"));
        var sink = thread.Invoke(AppThread.Request("POST", query: "read-or-error", body: body));
        Assert.Equal("400 Bad Request", sink.Status);
        Assert.Equal("OSError: client went away mid-body", sink.BodyText);
    }

    [Fact]
    public void Body_read_timeout_is_one_info_line_and_no_response()
    {
        FakeSink? sink = null;
        var log = python.Log.During(() =>
        {
            var body = new StreamedBody("abc"u8.ToArray()) { FailWith = () => new RequestBodyTimeoutException() };
            using var thread = new AppThread(python.Load("bridge_apps:echo_input"));
            sink = thread.Invoke(AppThread.Request("POST", query: "read", body: body));
        });
        Assert.Null(sink!.Status);
        Assert.True(sink.Aborted);
        Assert.Equal([(LogLevel.Info, "Timed out reading the request body from ip=127.0.0.1")], log);
    }

    /// <summary>Bad chunked framing met by the app's read is the client's bad request: Invoke hands it to the connection.</summary>
    [Fact]
    public void Bad_chunked_framing_in_a_streamed_body_is_thrown_to_the_connection()
    {
        var log = python.Log.During(() =>
        {
            var body = new StreamedBody("abc"u8.ToArray()) { FailWith = BadChunk };
            using var thread = new AppThread(python.Load("bridge_apps:echo_input"));
            Exception? thrown = null;
            thread.Run(h =>
            {
                try
                {
                    h.Invoke(AppThread.Request("POST", query: "read", body: body), new FakeSink());
                }
                catch (Exception e)
                {
                    thrown = e;
                }
            });
            Assert.Equal(400, Assert.IsType<BadHttpRequestException>(thrown).StatusCode);
        });
        Assert.Empty(log);
    }

    private static Exception BadChunk()
    {
        var decoder = new ChunkedBodyDecoder(HttpParserOptions.Default);
        var reader = new System.Buffers.SequenceReader<byte>(new System.Buffers.ReadOnlySequence<byte>("zz\r\nabc\r\n"u8.ToArray()));
        try
        {
            decoder.Decode(ref reader, new byte[16]);
        }
        catch (BadHttpRequestException e)
        {
            return e;
        }

        throw new InvalidOperationException("the decoder took 'zz' as a chunk size");
    }
}
