using System.Text;
using System.Text.Json;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>
/// The project's own request vectors (Http/Vectors/valid.json and invalid.json, copied beside the test
/// assembly), written for this repository: they always run, with or without Gunicorn's corpus. Each entry
/// has <c>name</c>, <c>config</c> (setting names) and <c>request</c>, whose characters are the bytes on the
/// wire (latin-1), plus <c>requests</c> (valid) or <c>error</c> (invalid) in the corpus's form.
/// </summary>
internal static class OwnRequestVectors
{
    private static readonly Lazy<Dictionary<string, RequestVector>> Cases = new(Load);

    public static IReadOnlyCollection<string> Names => Cases.Value.Keys;

    public static RequestVector Get(string name) => Cases.Value[name];

    private static Dictionary<string, RequestVector> Load()
    {
        var result = new Dictionary<string, RequestVector>(StringComparer.Ordinal);
        foreach (var kind in new[] { "valid", "invalid" })
        {
            var path = Path.Combine(AppContext.BaseDirectory, "Http", "Vectors", kind + ".json");
            foreach (var entry in JsonDocument.Parse(File.ReadAllBytes(path)).RootElement.Clone().EnumerateArray())
            {
                var name = kind + "/" + entry.GetProperty("name").GetString();
                var data = Encoding.Latin1.GetBytes(entry.GetProperty("request").GetString()!);
                if (!result.TryAdd(name, new RequestVector(name, data, RequestVectorOptions.From(entry.GetProperty("config")), entry)))
                {
                    throw new InvalidDataException($"{path}: two vectors named {name}");
                }
            }
        }
        return result;
    }
}
