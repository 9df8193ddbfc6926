using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>103 Early Hints on HTTP/1.x (environ['wsgi.early_hints'] reaches <see cref="IResponseSink.SendEarlyHints"/>).</summary>
public sealed class EarlyHintsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static void Hinting(WsgiRequest request, IResponseSink response)
    {
        response.SendEarlyHints([new("Link", "</style.css>; rel=preload; as=style")]);
        response.SendEarlyHints([new("Link", "</app.js>; rel=preload; as=script"), new("X-Hint", "  padded\t")]);
        response.SetResponse("200 OK", [new("Content-Length", "5")]);
        response.Write("final"u8);
        // After the head: dropped, as Gunicorn does.
        response.SendEarlyHints([new("Link", "</late.css>; rel=preload")]);
    }

    [Fact]
    public async Task Http11_gets_each_103_before_the_final_response()
    {
        await using var worker = new WorkerHarness(Hinting);
        var response = await worker.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Wait);
        Assert.StartsWith(
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n" +
            "HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload; as=script\r\nX-Hint: padded\r\n\r\n" +
            "HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nfinal", response, StringComparison.Ordinal);
        Assert.DoesNotContain("late.css", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http10_gets_no_103()
    {
        await using var worker = new WorkerHarness(Hinting);
        var response = await worker.ExchangeAsync("GET / HTTP/1.0\r\nHost: x\r\n\r\n", Wait);
        Assert.StartsWith("HTTP/1.0 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.DoesNotContain("103", response, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Link", "</a>\r\nSet-Cookie: x=1", "invalid value for header Link")]
    [InlineData("Bad Name", "v", "invalid header name 'Bad Name'")]
    [InlineData("", "v", "invalid header name ''")]
    public void A_hint_that_is_not_valid_http_is_refused_and_nothing_is_written(string name, string value, string message)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var e = Assert.Throws<InvalidResponseException>(() =>
            Unicorn.Wsgi.Http.ResponseHeadWriter.WriteEarlyHints(output, [new("Link", "</ok>"), new(name, value)]));
        Assert.Equal(message, e.Message);
        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public async Task Keep_alive_continues_after_a_hinted_response()
    {
        await using var worker = new WorkerHarness(Hinting);
        using var s = await worker.ConnectAsync();
        await s.SendAsync("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        var all = await WorkerHarness.ReadUntilClosedAsync(s, Wait);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(all, "HTTP/1.1 200 OK"));
        Assert.Equal(4, System.Text.RegularExpressions.Regex.Count(all, "HTTP/1.1 103 Early Hints"));
    }
}
