using System.Text.Json;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>
/// One request case, from Gunicorn's corpus or the project's own vectors: the bytes on the wire, the
/// parser settings, and the expectation (valid: <c>requests</c>; invalid: <c>error</c>, Gunicorn's class name).
/// </summary>
internal sealed record RequestVector(string Name, byte[] Data, HttpParserOptions Options, JsonElement Json)
{
    public bool IsValid => Name.StartsWith("valid/", StringComparison.Ordinal);

    public string? ExpectedError => Json.TryGetProperty("error", out var e) ? e.GetString() : null;
}
