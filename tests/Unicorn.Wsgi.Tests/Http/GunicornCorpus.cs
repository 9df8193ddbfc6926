using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>
/// Finds and decodes Gunicorn's request corpus: $UNICORN_HTTP_CORPUS, else ../shared/corpus/gunicorn-requests
/// beside the repo. It is not part of the repository, so a fresh clone may not have it: then
/// <see cref="MissingReason"/> says so and the corpus tests are skipped (the project's own vectors in
/// Http/Vectors cover the same classes of request).
/// </summary>
internal static class GunicornCorpus
{
    private static readonly Lazy<Dictionary<string, RequestVector>> Cases = new(Load);

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

    /// <summary>Null when the corpus is there; otherwise why its tests cannot run.</summary>
    public static string? MissingReason =>
        System.IO.Directory.Exists(Path.Combine(Directory, "valid"))
            ? null
            : $"Gunicorn request corpus not found at {Directory} (set UNICORN_HTTP_CORPUS to its gunicorn-requests folder); the project's own vectors (VectorTests) still ran";

    public static IReadOnlyCollection<string> Names => MissingReason is null ? Cases.Value.Keys : [];

    public static RequestVector Get(string name) => Cases.Value[name];

    private static Dictionary<string, RequestVector> Load()
    {
        var root = Directory;
        var result = new Dictionary<string, RequestVector>(StringComparer.Ordinal);
        foreach (var kind in new[] { "valid", "invalid" })
        {
            foreach (var json in System.IO.Directory.GetFiles(Path.Combine(root, kind), "*.json").Order(StringComparer.Ordinal))
            {
                var name = kind + "/" + Path.GetFileNameWithoutExtension(json);
                var doc = JsonDocument.Parse(File.ReadAllBytes(json)).RootElement.Clone();
                var data = Decode(File.ReadAllBytes(Path.ChangeExtension(json, ".http")));
                result[name] = new RequestVector(name, data, RequestVectorOptions.From(doc.GetProperty("config")), doc);
            }
        }

        // A partial copy must fail loudly, not pass on fewer cases.
        var valid = result.Keys.Count(n => n.StartsWith("valid/", StringComparison.Ordinal));
        if (result.Count != 137 || valid != 63)
        {
            throw new InvalidDataException($"Gunicorn request corpus at {root} has {result.Count} cases ({valid} valid); expected 137 (63 valid)");
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
}
