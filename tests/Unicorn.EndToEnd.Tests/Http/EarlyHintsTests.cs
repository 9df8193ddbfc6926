using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Http;

/// <summary>environ['wsgi.early_hints'] from a Python app, through the bridge, to raw sockets and curl.</summary>
public sealed class EarlyHintsTests
{
    private const string FirstHint = "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n";
    private const string SecondHint = "HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload; as=script\r\nX-Hint: two\r\n\r\n";

    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    public void Http11_clients_get_the_hints_before_the_response_and_http10_clients_do_not(string workerClass)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.uwsgi_app:app", "-b", $"127.0.0.1:{port}", "-k", workerClass);
        server.WaitUntilServing(port);

        var http11 = RawHttp.Send(port, "GET /hints HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith(FirstHint + SecondHint + "HTTP/1.1 200 OK\r\n", http11, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nfinal", http11, StringComparison.Ordinal);
        Assert.DoesNotContain("late.css", http11, StringComparison.Ordinal);

        var http10 = RawHttp.Send(port, "GET /hints HTTP/1.0\r\nHost: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.0 200 OK\r\n", http10, StringComparison.Ordinal);
        Assert.DoesNotContain("103", http10, StringComparison.Ordinal);

        var curl = ExternalTool.Curl("-i", $"http://127.0.0.1:{port}/hints");
        Assert.True(curl.ExitCode == 0, curl.All);
        Assert.StartsWith(FirstHint + SecondHint + "HTTP/1.1 200 OK\r\n", curl.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("final", curl.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hint_with_a_line_break_raises_value_error_in_the_app_and_sends_nothing()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.uwsgi_app:app", "-b", $"127.0.0.1:{port}");
        server.WaitUntilServing(port);
        var response = RawHttp.Send(port, "GET /bad-hint HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Equal("refused: invalid value for header Link", RawHttp.Body(response));
        Assert.DoesNotContain("X-Injected", response, StringComparison.Ordinal);
    }
}
