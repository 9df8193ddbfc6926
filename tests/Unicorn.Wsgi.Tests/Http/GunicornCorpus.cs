using System.Globalization;
using System.Text;
using System.Text.Json;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>One case of Gunicorn's request corpus (format in the corpus README).</summary>
internal sealed record CorpusCase(string Name, byte[] Data, HttpParserOptions Options, JsonElement Json)
{
    public bool IsValid => Name.StartsWith("valid/", StringComparison.Ordinal);

    public string? ExpectedError => Json.TryGetProperty("error", out var e) ? e.GetString() : null;
}

/// <summary>Finds and decodes the corpus: $UNICORN_HTTP_CORPUS, else ../shared/corpus/gunicorn-requests beside the repo.</summary>
internal static class GunicornCorpus
{
    private static readonly Lazy<Dictionary<string, CorpusCase>> Cases = new(Load);

    public static string Directory
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("UNICORN_HTTP_CORPUS");
            if (!string.IsNullOrEmpty(env))
            {
                return env;
            }
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Unicorn.sln")))
            {
                dir = dir.Parent;
            }
            return dir is null ? "(repository root not found)" : Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "corpus", "gunicorn-requests"));
        }
    }

    public static IReadOnlyCollection<string> Names => Cases.Value.Keys;

    public static CorpusCase Get(string name) => Cases.Value[name];

    private static Dictionary<string, CorpusCase> Load()
    {
        var root = Directory;
        if (!System.IO.Directory.Exists(Path.Combine(root, "valid")))
        {
            throw new InvalidOperationException(
                $"Gunicorn request corpus not found at {root}: set UNICORN_HTTP_CORPUS to the gunicorn-requests folder.");
        }
        var result = new Dictionary<string, CorpusCase>(StringComparer.Ordinal);
        foreach (var kind in new[] { "valid", "invalid" })
        {
            foreach (var json in System.IO.Directory.GetFiles(Path.Combine(root, kind), "*.json").Order(StringComparer.Ordinal))
            {
                var name = kind + "/" + Path.GetFileNameWithoutExtension(json);
                var doc = JsonDocument.Parse(File.ReadAllBytes(json)).RootElement.Clone();
                var data = Decode(File.ReadAllBytes(Path.ChangeExtension(json, ".http")));
                result[name] = new CorpusCase(name, data, OptionsFrom(doc.GetProperty("config")), doc);
            }
        }
        return result;
    }

    /// <summary>The README's decoding: drop LF bytes, then \r\n, \0, \n, \t and \xHH escapes.</summary>
    public static byte[] Decode(byte[] file)
    {
        var text = Encoding.Latin1.GetString(file).Replace("\n", "", StringComparison.Ordinal)
            .Replace("\\r\\n", "\r\n", StringComparison.Ordinal)
            .Replace("\\0", "\0", StringComparison.Ordinal)
            .Replace("\\n", "\n", StringComparison.Ordinal)
            .Replace("\\t", "\t", StringComparison.Ordinal);
        var bytes = new List<byte>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 3 < text.Length && text[i + 1] == 'x'
                && byte.TryParse(text.AsSpan(i + 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 3;
                continue;
            }
            if (text[i] == '\\')
            {
                throw new InvalidDataException("unexpected backslash escape in corpus file");
            }
            bytes.Add((byte)text[i]);
        }
        return [.. bytes];
    }

    /// <summary>A case's settings, through the same FromSettings the server uses. Unknown settings fail.</summary>
    private static HttpParserOptions OptionsFrom(JsonElement config)
    {
        var settings = new Settings();
        foreach (var p in config.EnumerateObject())
        {
            object? value = p.Value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Number => p.Value.GetInt32(),
                JsonValueKind.String => p.Value.GetString(),
                _ => throw new InvalidDataException($"corpus setting {p.Name}: unexpected {p.Value.ValueKind}"),
            };
            if (!KnownSettings.Contains(p.Name))
            {
                throw new InvalidDataException($"corpus uses setting {p.Name}, which the parser options do not read");
            }
            settings.Set(p.Name, value);
        }
        return HttpParserOptions.FromSettings(settings);
    }

    private static readonly HashSet<string> KnownSettings =
    [
        "limit_request_line", "limit_request_fields", "limit_request_field_size", "permit_obsolete_folding",
        "strip_header_spaces", "permit_unconventional_http_method", "permit_unconventional_http_version",
        "casefold_http_method", "header_map", "proxy_protocol", "proxy_allow_ips", "forwarded_allow_ips",
        "secure_scheme_headers", "forwarder_headers",
    ];
}
