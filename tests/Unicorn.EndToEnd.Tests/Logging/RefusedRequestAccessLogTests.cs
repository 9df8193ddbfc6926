using System.Text;
using System.Text.RegularExpressions;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// A request refused with 400 for its body framing (Content-Length, Transfer-Encoding) or a repeated singleton field,
/// once its request line and fields were read, gets an access line, as under Gunicorn 26.1: its <c>InvalidHeader</c>
/// carries the request (<c>req=self</c>) and <c>handle_error</c> logs it with an environ from <c>default_environ</c>
/// (no HTTP_* variables, no PATH_INFO, nothing counted as sent). So request-smuggling attempts show in the access log.
/// Request-line errors and an unsupported transfer coding (501) get no line, in either server. The expected lines are
/// Gunicorn 26.1's for the same bytes (<c>--access-logformat</c> below, sync worker), with the time masked; every worker
/// class answers through the same connection code and must write them.
/// </summary>
public sealed partial class RefusedRequestAccessLogTests
{
    private const string Format =
        "%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s \"%(f)s\" \"%(a)s\" U=%(U)s q=%(q)s B=%(B)s ua=%({user-agent}i)s " +
        "eua=%({http_user_agent}e)s raw=%({raw_uri}e)s proto=%({server_protocol}e)s pi=%({path_info}e)s";

    // Each on its own connection, in order; the last one is served, so its line says every earlier one was written.
    private static readonly (string Request, string? Line)[] Cases =
    [
        ("POST /echo?x=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: ua/1\r\nReferer: http://r/\r\nAuthorization: Basic dXNlcjpwYXNz\r\nContent-Length: +5\r\n\r\nhello",
            "127.0.0.1 - - [TIME] \"POST /echo?x=1 HTTP/1.1\" 400 0 \"-\" \"-\" U=None q=x=1 B=0 ua=ua/1 eua=- raw=/echo?x=1 proto=HTTP/1.1 pi=-"),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nUser-Agent: ua/1\r\nContent-Length: 5, 5\r\n\r\nhello",
            "127.0.0.1 - - [TIME] \"POST /echo HTTP/1.1\" 400 0 \"-\" \"-\" U=None q= B=0 ua=ua/1 eua=- raw=/echo proto=HTTP/1.1 pi=-"),
        ("POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
            "127.0.0.1 - - [TIME] \"POST /two HTTP/1.1\" 400 0 \"-\" \"-\" U=None q= B=0 ua=- eua=- raw=/two proto=HTTP/1.1 pi=-"),
        ("POST /clte HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "127.0.0.1 - - [TIME] \"POST /clte HTTP/1.1\" 400 0 \"-\" \"-\" U=None q= B=0 ua=- eua=- raw=/clte proto=HTTP/1.1 pi=-"),
        ("POST /gzip HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "127.0.0.1 - - [TIME] \"POST /gzip HTTP/1.1\" 400 0 \"-\" \"-\" U=None q= B=0 ua=- eua=- raw=/gzip proto=HTTP/1.1 pi=-"),
        ("POST /old HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "127.0.0.1 - - [TIME] \"POST /old HTTP/1.0\" 400 0 \"-\" \"-\" U=None q= B=0 ua=- eua=- raw=/old proto=HTTP/1.0 pi=-"),
        // Refused while the fields are read: Gunicorn's req.headers are still empty.
        ("GET /host HTTP/1.1\r\nUser-Agent: ua/1\r\nHost: x\r\nHost: y\r\n\r\n",
            "127.0.0.1 - - [TIME] \"GET /host HTTP/1.1\" 400 0 \"-\" \"-\" U=None q= B=0 ua=- eua=- raw=/host proto=HTTP/1.1 pi=-"),
        ("get /lower HTTP/1.1\r\nHost: x\r\n\r\n", null),
        ("GET /version HTTP/1.x\r\nHost: x\r\n\r\n", null),
        ("POST /foo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n", null),
        ("GET /echo-scope HTTP/1.1\r\nHost: x\r\nUser-Agent: ua/2\r\nConnection: close\r\n\r\n", "(served)"),
    ];

    [GeneratedRegex(@"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]")]
    private static partial Regex Time();

    [Theory]
    [InlineData("sync", "pyfixtures.access_log_app:app")]
    [InlineData("gthread", "pyfixtures.access_log_app:app")]
    [InlineData("gevent", "pyfixtures.access_log_app:app")]
    [InlineData("eventlet", "pyfixtures.access_log_app:app")]
    [InlineData("asgi", "pyfixtures.asgi.raw:misuse")]
    public void A_request_refused_for_its_framing_is_access_logged_as_by_gunicorn(string workerClass, string app)
    {
        var logPath = Path.Combine(Path.GetTempPath(), $"unicorn-refused-{Guid.NewGuid():N}.log");
        try
        {
            string output;
            using (var server = ServerProcess.Start(Path.Combine(ServerProcess.RepoRoot(), "unicorn"),
                       ["-k", workerClass, "--workers", "1", "--access-logfile", logPath, "--access-logformat", Format, app],
                       TimeSpan.FromSeconds(60)))
            {
                foreach (var (request, _) in Cases)
                {
                    var response = Encoding.Latin1.GetString(server.Send(Encoding.Latin1.GetBytes(request)));
                    Assert.StartsWith("HTTP/1.1 ", response, StringComparison.Ordinal);
                }

                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (DateTime.UtcNow < deadline && (!File.Exists(logPath) || !File.ReadAllText(logPath).Contains("/echo-scope", StringComparison.Ordinal)))
                {
                    Thread.Sleep(50);
                }

                server.Stop();
                output = server.Output;
            }

            var lines = File.ReadAllLines(logPath, Encoding.UTF8).Select(l => Time().Replace(l, "[TIME]")).ToList();
            var expected = Cases.Where(c => c.Line is not null and not "(served)").Select(c => c.Line!).ToList();
            Assert.Equal(expected.Count + 1, lines.Count);
            Assert.Equal(expected, lines.Take(expected.Count));
            Assert.Contains("\"GET /echo-scope HTTP/1.1\" 200 ", lines[^1], StringComparison.Ordinal);
            // The warning is written as before, once per refusal.
            Assert.Equal(10, Regex.Matches(output, "Invalid request from ip=127.0.0.1").Count);
        }
        finally
        {
            File.Delete(logPath);
        }
    }
}
