using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unicorn.Wsgi.Logging;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// Differential test against Gunicorn's own code: gunicorn_atoms.py parses the same raw request with
/// Gunicorn's parser, builds environ and the response as Gunicorn does, and formats the access line with
/// glogging's atoms; we format the same request with <see cref="AccessLogFormat"/> and compare the lines
/// exactly. %(t)s is pinned to one instant on both sides. environ (for %({var}e)s), the pid and the byte
/// count come back from Python, because building them is the worker's job, not the log's.
/// </summary>
public class GunicornAtomsParityTests
{
    private const long FixedUnixSeconds = 1795811400;

    private const string EveryAtom =
        "%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s %(B)s \"%(f)s\" \"%(a)s\" %(m)s %(U)s %(q)s %(H)s " +
        "%(T)s %(D)s %(M)s %(L)s %(p)s %({host}i)s %({X-Dup}i)s %({x-missing}i)s %({content-type}o)s " +
        "%({X-Resp}o)s %({request_method}e)s %({HTTP_X_DUP}e)s %({server_protocol}e)s %(nope)s";

    private static readonly string[][] Cases =
    [
        ["GET", "/", "HTTP/1.1", "Host: example.com\r\nUser-Agent: curl/8.5.0\r\n", "200 OK", "hello"],
        ["POST", "/a%20b/c?x=1&y=%22q%22", "HTTP/1.1", "Host: h\r\nReferer: http://r/\"x\"\r\nUser-Agent: ua \"quoted\"\r\nContent-Length: 0\r\n", "201 Created", ""],
        ["GET", "/dup", "HTTP/1.0", "X-Dup: one\r\nX-Dup: two\r\nUser-Agent: a\r\nUser-Agent: b\r\nAuthorization: Basic dXNlcjpwYXNz\r\n", "404 Not Found", "nope"],
        ["HEAD", "/auth?u", "HTTP/1.1", "Host: h\r\nAuthorization: basic  w6k6eA== \r\nX-Dup: tab\there\r\n", "304 Not Modified", ""],
        ["DELETE", "/x?", "HTTP/1.1", "Host: h\r\nAuthorization: Basic OnBhc3M=\r\nUser-Agent: caf\u00e9 \u00ff\r\n", "500 Internal Server Error", "err"],
        ["GET", "/q?a=%E9", "HTTP/1.1", "Host: h\r\nAuthorization: Bearer abc\r\nReferer: \\back\\slash\r\n", "200 OK", new string('x', 1000)],
    ];

    [Fact]
    public void Every_atom_formats_exactly_as_gunicorns_glogging()
    {
        var python = Environment.GetEnvironmentVariable("UNICORN_PYTHON") is { Length: > 0 } p && !p.EndsWith(".so", StringComparison.Ordinal) ? p : "/usr/bin/python3";
        var formats = new[] { EveryAtom, AccessLogFormat.Default, "%(h)r %(a)r %(T)d %(D)08d %(M)-6d|%(h)10s|%(h)-10s|%(h).3s %% %(B)5.1f %(s)r" };
        var input = new JsonArray();
        foreach (var format in formats)
        {
            for (var i = 0; i < Cases.Length; i++)
            {
                var c = Cases[i];
                input.Add(new JsonObject
                {
                    ["format"] = format,
                    ["request"] = $"{c[0]} {c[1]} {c[2]}\r\n{c[3]}\r\n",
                    ["status"] = c[4],
                    ["response_headers"] = new JsonArray(new JsonArray("Content-Type", "text/plain"), new JsonArray("X-Resp", $"r\"{i}\"")),
                    ["body"] = c[5],
                    ["duration_us"] = Duration(i).Ticks / 10,
                });
            }
        }

        var results = RunGunicorn(python, input.ToJsonString());
        var index = 0;
        foreach (var format in formats)
        {
            var compiled = AccessLogFormat.Parse(format);
            for (var i = 0; i < Cases.Length; i++, index++)
            {
                var c = Cases[i];
                var gunicorn = results[index]!;
                var environ = gunicorn["environ"]!.AsObject().ToDictionary(kv => kv.Key.ToLowerInvariant(), kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal);
                var entry = new AccessLogEntry
                {
                    Method = c[0],
                    RawUri = environ["raw_uri"],
                    Path = environ["path_info"],
                    Query = environ["query_string"],
                    Protocol = c[2],
                    RemoteAddress = "127.0.0.1",
                    Status = c[4],
                    ResponseLength = gunicorn["sent"]!.GetValue<long>(),
                    RequestHeaders = Headers(c[3]),
                    ResponseHeaders = [new("Content-Type", "text/plain"), new("X-Resp", $"r\"{i}\"")],
                    Environ = () => environ,
                    StartTime = DateTimeOffset.FromUnixTimeSeconds(FixedUnixSeconds) - Duration(i),
                    Duration = Duration(i),
                    Pid = gunicorn["pid"]!.GetValue<int>(),
                };
                Assert.Equal(gunicorn["line"]!.GetValue<string>(), compiled.Format(entry));
            }
        }
    }

    private static TimeSpan Duration(int i) => TimeSpan.FromTicks(((i * 1_234_567L) + 89) * 10);

    private static List<KeyValuePair<string, string>> Headers(string block) =>
        block.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(':', 2))
            .Select(kv => new KeyValuePair<string, string>(kv[0], kv[1].Trim(' ', '\t')))
            .ToList();

    private static JsonArray RunGunicorn(string python, string input)
    {
        var start = new ProcessStartInfo(python, [ScriptPath()])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        using var process = Process.Start(start)!;
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "gunicorn_atoms.py did not finish");
        Assert.True(process.ExitCode == 0, $"{python} gunicorn_atoms.py failed (needs the gunicorn package, apt: gunicorn): {stderr.Result}");
        return JsonNode.Parse(stdout.Result)!.AsArray();
    }

    private static string ScriptPath([CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "gunicorn_atoms.py");
}
