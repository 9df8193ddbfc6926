using System.Globalization;
using System.Text;
using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// SCRIPT_NAME as Gunicorn sets it: from a <c>SCRIPT_NAME</c> header the field policy kept (nginx's
/// <c>proxy_set_header SCRIPT_NAME /prefix</c> from a peer in forwarded_allow_ips), else the process
/// environment; a path outside it is Gunicorn 26.1's 500 (ConfigurationProblem), before the app runs.
/// </summary>
public class ScriptNameTests
{
    private static void Echo(WsgiRequest request, IResponseSink response)
    {
        var body = Encoding.ASCII.GetBytes($"script_name={request.ScriptName} path={request.Path}");
        response.SetResponse("200 OK", [new("Content-Length", body.Length.ToString(CultureInfo.InvariantCulture))]);
        response.Write(body);
    }

    [Fact]
    public async Task A_trusted_peers_script_name_header_mounts_the_app_there()
    {
        await using var h = new WorkerHarness(Echo);
        var response = await h.ExchangeAsync("GET /app/x HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: /app\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("script_name=/app path=/app/x", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_untrusted_peers_script_name_header_is_dropped()
    {
        await using var h = new WorkerHarness(Echo, s => s.Set("forwarded_allow_ips", "192.0.2.1"));
        var response = await h.ExchangeAsync("GET /app/x HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: /app\r\nConnection: close\r\n\r\n");
        Assert.EndsWith("script_name= path=/app/x", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_path_outside_script_name_is_a_500_and_the_app_never_runs()
    {
        var called = 0;
        await using var h = new WorkerHarness((req, resp) => { Interlocked.Increment(ref called); Echo(req, resp); });
        var response = await h.ExchangeAsync("GET /other HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: /app\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 500 ", response, StringComparison.Ordinal);
        Assert.True(response.Contains("Configuration problem: Request path &#x27;/other&#x27; does not start with SCRIPT_NAME &#x27;/app&#x27;", StringComparison.Ordinal), response);
        Assert.Equal(0, called);
        Assert.Contains("Invalid request from ip=127.0.0.1: Configuration problem: Request path '/other' does not start with SCRIPT_NAME '/app'", h.Log.ToString(), StringComparison.Ordinal);

        // The worker keeps serving.
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await h.ExchangeAsync("GET /app/ok HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: /app\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
    }
}
