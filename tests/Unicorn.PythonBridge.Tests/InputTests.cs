using Unicorn.PythonBridge.Tests.Support;
using Unicorn.Wsgi.Application;

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

    [Fact]
    public void Body_read_error_reaches_the_app_as_OSError()
    {
        var log = python.Log.During(() =>
        {
            var body = new StreamedBody("abc"u8.ToArray()) { FailAtEnd = true };
            using var thread = new AppThread(python.Load("bridge_apps:echo_input"));
            var sink = thread.Invoke(AppThread.Request("POST", query: "read", body: body));
            Assert.Equal("500 Internal Server Error", sink.Status);
        });
        Assert.Contains(log, e => e.Message.Contains("OSError: client went away mid-body", StringComparison.Ordinal));
    }
}
