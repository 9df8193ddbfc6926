using System.Text;
using System.Text.RegularExpressions;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// Runs real Gunicorn (apt) and Unicorn with the same access-log format (every atom) on the same app,
/// sends both the same requests, and asserts the access lines are identical once the time, the pids and
/// the durations are masked. %(b)s/%(B)s of HEAD, 1xx, 204 and 304 responses are 0, as in Gunicorn 26.1, which
/// counts only what it sends; Debian's Gunicorn (20.1) counts the body the app gave, and its lines are read as 26.1's.
/// </summary>
public partial class AccessLogComparisonTests
{
    private const string Gunicorn = "/usr/bin/gunicorn";
    private const string App = "pyfixtures.access_log_app:app";

    internal const string EveryAtom =
        "%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s %(B)s \"%(f)s\" \"%(a)s\" m=%(m)s U=%(U)s q=%(q)s H=%(H)s " +
        "T=%(T)s D=%(D)s M=%(M)s L=%(L)s p=%(p)s host=%({host}i)s dup=%({x-dup}i)s missing=%({x-missing}i)s " +
        "ct=%({content-type}o)s resp=%({X-Resp}o)s method=%({request_method}e)s envdup=%({http_x_dup}e)s " +
        "proto=%({server_protocol}e)s scheme=%({wsgi.url_scheme}e)s nope=%(nope)s";

    internal static readonly string[] Requests =
    [
        "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nConnection: close\r\n\r\n",
        "GET /a%20b/c?x=1&y=%22q%22 HTTP/1.1\r\nHost: example.com\r\nReferer: http://r/\"x\"\r\nUser-Agent: ua \"quoted\"\r\nConnection: close\r\n\r\n",
        "GET /missing HTTP/1.0\r\nX-Dup: one\r\nX-Dup: two\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n",
        "POST /created?z HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello",
        "HEAD / HTTP/1.1\r\nHost: example.com\r\nAuthorization: basic w6k6eA==\r\nConnection: close\r\n\r\n",
        "HEAD /nolength HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
        "HEAD /nolength HTTP/1.0\r\n\r\n",
        "GET /no-content-body HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
        "GET /not-modified HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
        "HEAD /empty HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
        "DELETE /empty HTTP/1.1\r\nHost: example.com\r\nAuthorization: Bearer abc\r\nConnection: close\r\n\r\n",
        "GET /error HTTP/1.1\r\nHost: example.com\r\nUser-Agent: caf\u00e9\r\nConnection: close\r\n\r\n",
    ];

    [GeneratedRegex(@"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]")]
    private static partial Regex Time();

    [GeneratedRegex(@"\b(T|D|M|L)=[\d.]+")]
    private static partial Regex Durations();

    [GeneratedRegex(@"<\d+>")]
    private static partial Regex Pid();

    internal static string Mask(string line) =>
        Pid().Replace(Durations().Replace(Time().Replace(line, "[TIME]"), "$1=N"), "<PID>");

    // "%(r)s" %(s)s %(b)s %(B)s: 26.1 counts no body for HEAD, 1xx, 204 and 304, where 20.1 counts the app's.
    private static string As261(string line) => Counts().Replace(line, m =>
        m.Groups["r"].Value.StartsWith("HEAD ", StringComparison.Ordinal) || m.Groups["s"].Value is "204" or "304" || m.Groups["s"].Value[0] == '1'
            ? $"{m.Groups["head"].Value} 0 0"
            : m.Value);

    [GeneratedRegex(@"^(?<head>\S+ \S+ \S+ \[TIME\] ""(?<r>(?:[^""\\]|\\.)*)"" (?<s>\d{3})) \S+ \S+")]
    private static partial Regex Counts();

    internal static List<string> Run(string executable, IEnumerable<string> prefixArguments)
    {
        var logPath = Path.Combine(Path.GetTempPath(), $"unicorn-access-{Guid.NewGuid():N}.log");
        try
        {
            using (var server = ServerProcess.Start(executable,
                       [.. prefixArguments, "--workers", "1", "--access-logfile", logPath, "--access-logformat", EveryAtom, App],
                       TimeSpan.FromSeconds(60)))
            {
                foreach (var request in Requests)
                {
                    server.Send(Encoding.Latin1.GetBytes(request));
                }

                // Lines may be written just after the response; wait for them before stopping.
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (DateTime.UtcNow < deadline && (!File.Exists(logPath) || File.ReadAllLines(logPath).Length < Requests.Length))
                {
                    Thread.Sleep(50);
                }

                server.Stop();
            }

            return File.ReadAllLines(logPath, Encoding.UTF8).Select(Mask).ToList();
        }
        finally
        {
            File.Delete(logPath);
        }
    }

    [Fact]
    public void Unicorn_writes_the_same_access_lines_as_gunicorn()
    {
        Assert.True(File.Exists(Gunicorn), "gunicorn is not installed (apt: gunicorn)");
        var expected = Run(Gunicorn, []).Select(As261).ToList();
        Assert.Equal(Requests.Length, expected.Count);
        var actual = Run(Path.Combine(ServerProcess.RepoRoot(), "unicorn"), []);
        for (var i = 0; i < Requests.Length; i++)
        {
            Assert.Equal(expected[i], i < actual.Count ? actual[i] : "(missing)");
        }

        Assert.Equal(expected.Count, actual.Count);
    }
}
