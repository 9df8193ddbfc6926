using System.Text;
using System.Text.Json;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>
/// Runs a request case as Gunicorn's corpus harness does: every chunking (all at once, line by line, byte
/// by byte, first byte then the rest, random pieces with fixed seeds), each with bodies read whole, byte
/// by byte, in small and in large reads.
/// </summary>
internal static class RequestVectorCheck
{
    public static readonly string[] Chunkings = ["all", "lines", "bytes", "first-byte", "random-1", "random-2", "random-3"];

    private static readonly string[] ReadModes = ["all", "1", "small", "large"];

    /// <summary>Every (name, chunking) pair of the given cases, for a theory.</summary>
    public static TheoryData<string, string> Rows(IEnumerable<string> names)
    {
        var data = new TheoryData<string, string>();
        foreach (var name in names)
        {
            foreach (var chunking in Chunkings)
            {
                data.Add(name, chunking);
            }
        }
        return data;
    }

    /// <summary>Feeds the case in the given chunking, reading bodies in every read mode, and checks the outcome.</summary>
    public static void Check(RequestVector c, string chunking)
    {
        var name = c.Name;
        foreach (var mode in ReadModes)
        {
            var pieces = Split(c.Data, chunking);
            var rng = new Random(mode.Length * 31 + chunking.Length);
            Func<int> readSize = mode switch
            {
                "all" => () => 1 << 20,
                "1" => () => 1,
                "small" => () => rng.Next(1, 5),
                _ => () => rng.Next(1, 4097),
            };
            if (c.IsValid)
            {
                var requests = ConnectionSimulator.Run(c.Options, pieces, readSize);
                AssertMatches(c.Json.GetProperty("requests"), requests, $"{name} [{chunking}, read {mode}]");
            }
            else
            {
                var ex = Assert.Throws<BadHttpRequestException>(() => ConnectionSimulator.Run(c.Options, pieces, readSize));
                Assert.True(c.ExpectedError == ex.GunicornError,
                    $"{name} [{chunking}, read {mode}]: expected {c.ExpectedError}, got {ex.GunicornError} ({ex.Reason}: {ex.Message})");
                Assert.Equal(ex.GunicornError == "LimitRequestHeaders" ? 431 : 400, ex.StatusCode);
                var response = Encoding.Latin1.GetString(ex.BuildResponse());
                Assert.StartsWith($"HTTP/1.1 {ex.StatusCode} {ex.ReasonPhrase}\r\nConnection: close\r\n", response, StringComparison.Ordinal);
                Assert.DoesNotContain('\0', ex.LogMessage("127.0.0.1"));
            }
        }
    }

    internal static List<ReadOnlyMemory<byte>> Split(byte[] data, string chunking)
    {
        var pieces = new List<ReadOnlyMemory<byte>>();
        switch (chunking)
        {
            case "all":
                pieces.Add(data);
                break;
            case "bytes":
                for (var i = 0; i < data.Length; i++)
                {
                    pieces.Add(data.AsMemory(i, 1));
                }
                break;
            case "lines":
                // Like Gunicorn's send_lines: each piece ends just after a CRLF.
                var start = 0;
                while (start < data.Length)
                {
                    var crlf = data.AsSpan(start).IndexOf("\r\n"u8);
                    var end = crlf <= 0 ? data.Length : start + crlf + 2;
                    pieces.Add(data.AsMemory(start, end - start));
                    start = end;
                }
                break;
            case "first-byte":
                pieces.Add(data.AsMemory(0, 1));
                pieces.Add(data.AsMemory(1));
                break;
            default:
                var rng = new Random(int.Parse(chunking["random-".Length..], System.Globalization.CultureInfo.InvariantCulture));
                var max = Math.Max(1, (int)Math.Round(data.Length / 10.0));
                for (var read = 0; read < data.Length;)
                {
                    var n = Math.Min(rng.Next(1, max + 1), data.Length - read);
                    pieces.Add(data.AsMemory(read, n));
                    read += n;
                }
                break;
        }
        return pieces;
    }

    private static void AssertMatches(JsonElement expected, List<ParsedRequest> actual, string what)
    {
        Assert.True(expected.GetArrayLength() == actual.Count, $"{what}: expected {expected.GetArrayLength()} requests, parsed {actual.Count}");
        for (var i = 0; i < actual.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            var at = $"{what} request {i}";
            var uri = e.GetProperty("uri");
            var raw = uri.GetProperty("raw").GetString()!;
            Assert.True(e.GetProperty("method").GetString() == a.Method, $"{at}: method {a.Method}");
            Assert.True(raw == a.RawTarget, $"{at}: raw target {a.RawTarget}");
            Assert.True(ExpectedPath(raw, uri.GetProperty("path").GetString()!) == a.Path, $"{at}: path {a.Path}");
            Assert.True(uri.GetProperty("query").GetString() == a.Query, $"{at}: query {a.Query}");
            Assert.True(uri.GetProperty("fragment").GetString() == a.Fragment, $"{at}: fragment {a.Fragment}");
            if (!raw.StartsWith('/') && raw.Contains("://", StringComparison.Ordinal))
            {
                // Absolute-form: the corpus writes host as netloc minus port (userinfo included) and 80 for no port.
                Assert.Equal(uri.GetProperty("scheme").GetString(), a.Scheme);
                Assert.Equal(uri.GetProperty("host").GetString()!.Split('@')[^1], a.Host);
                Assert.Equal(uri.GetProperty("port").GetInt32(), a.Port ?? 80);
            }
            var version = e.GetProperty("version");
            Assert.True((version[0].GetInt32(), version[1].GetInt32()) == (a.Major, a.Minor), $"{at}: version {a.Major}.{a.Minor}");
            AssertFields(e.GetProperty("headers"), a.Headers, $"{at} headers");
            var body = Encoding.Latin1.GetString(a.Body);
            Assert.True(e.GetProperty("body").GetString() == body, $"{at}: body {body.Length} bytes differs");
            AssertFields(e.TryGetProperty("trailers", out var t) ? t : default, a.Trailers, $"{at} trailers");
        }
    }

    /// <summary>
    /// The corpus's expected path, with one erratum: its JSON was derived with plain urlsplit, which reads
    /// "///x" as an empty authority and path "/x", while Gunicorn's split_request_uri (gunicorn/util.py)
    /// keeps an origin-form path that starts with "//" whole, which is what Gunicorn puts in PATH_INFO.
    /// </summary>
    private static string ExpectedPath(string raw, string corpusPath) =>
        raw.StartsWith("//", StringComparison.Ordinal) ? raw.Split('?', '#')[0] : corpusPath;

    private static void AssertFields(JsonElement expected, List<KeyValuePair<string, string>> actual, string what)
    {
        var want = expected.ValueKind == JsonValueKind.Array
            ? expected.EnumerateArray().Select(p => $"{p[0].GetString()}: {p[1].GetString()}").ToList()
            : [];
        var got = actual.Select(p => $"{p.Key.ToUpperInvariant()}: {p.Value}").ToList();
        Assert.True(want.SequenceEqual(got), $"{what}:\n expected {string.Join(" | ", want)}\n got      {string.Join(" | ", got)}");
    }
}
