namespace Unicorn.Wsgi.Tests.Http;

/// <summary>
/// The project's own request vectors, through the same harness as Gunicorn's corpus (every chunking and
/// body read mode), so a machine without the corpus still tests every class of request it holds.
/// </summary>
public class VectorTests
{
    /// <summary>Every error class Gunicorn's corpus expects (its README lists them).</summary>
    private static readonly string[] CorpusErrorClasses =
    [
        "InvalidHeader", "InvalidHeaderName", "LimitRequestHeaders", "LimitRequestLine", "InvalidRequestLine",
        "InvalidRequestMethod", "InvalidHTTPVersion", "InvalidChunkSize", "InvalidChunkExtension",
        "ChunkMissingTerminator", "ObsoleteFolding", "InvalidProxyLine", "InvalidSchemeHeaders", "NoMoreData",
    ];

    public static TheoryData<string, string> Cases() => RequestVectorCheck.Rows(OwnRequestVectors.Names);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string name, string chunking) => RequestVectorCheck.Check(OwnRequestVectors.Get(name), chunking);

    [Fact]
    public void EveryCorpusErrorClassHasAVector()
    {
        var covered = OwnRequestVectors.Names.Where(n => !n.StartsWith("valid/", StringComparison.Ordinal))
            .Select(n => OwnRequestVectors.Get(n).ExpectedError).ToHashSet();
        var missing = CorpusErrorClasses.Where(c => !covered.Contains(c)).ToList();
        Assert.True(missing.Count == 0, "no vector for " + string.Join(", ", missing));
    }

    [Fact]
    public void ValidVectorsCoverEachKindOfRequest()
    {
        var requests = OwnRequestVectors.Names.Where(n => n.StartsWith("valid/", StringComparison.Ordinal))
            .Select(OwnRequestVectors.Get).ToList();
        bool Any(Func<RequestVector, bool> p) => requests.Any(p);
        string Text(RequestVector v) => System.Text.Encoding.Latin1.GetString(v.Data);

        Assert.True(Any(v => Text(v).Contains("Transfer-Encoding: chunked", StringComparison.Ordinal) && v.Json.GetProperty("requests")[0].TryGetProperty("trailers", out _)), "chunked with trailers");
        Assert.True(Any(v => v.Json.GetProperty("requests").GetArrayLength() > 1), "pipelined requests");
        Assert.True(Any(v => Text(v).StartsWith("GET http://", StringComparison.Ordinal)), "absolute-form");
        Assert.True(Any(v => Text(v).StartsWith("OPTIONS * ", StringComparison.Ordinal)), "asterisk-form");
        Assert.True(Any(v => Text(v).StartsWith("CONNECT ", StringComparison.Ordinal)), "authority-form");
        Assert.True(Any(v => Text(v).StartsWith("PROXY ", StringComparison.Ordinal)), "PROXY v1");
        Assert.True(Any(v => v.Data.AsSpan().StartsWith("\r\n\r\n\0\r\nQUIT\n"u8)), "PROXY v2");
        Assert.True(Any(v => v.Options.PermitObsoleteFolding), "permitted obs-fold");
        Assert.True(Any(v => Text(v).Contains("HTTP/1.0\r\n", StringComparison.Ordinal)), "HTTP/1.0");
    }
}
