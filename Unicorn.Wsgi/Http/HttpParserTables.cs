namespace Unicorn.Wsgi.Http;

/// <summary>The names and values of <see cref="HttpParserOptions"/> that the parser compares, as bytes.</summary>
internal sealed class HttpParserTables(HttpParserOptions options)
{
    public byte[][] SecureSchemeNames { get; } = [.. options.SecureSchemeHeaders.Keys.Select(System.Text.Encoding.Latin1.GetBytes)];

    public byte[][] SecureSchemeValues { get; } = [.. options.SecureSchemeHeaders.Values.Select(System.Text.Encoding.Latin1.GetBytes)];

    public bool ForwarderAny { get; } = options.ForwarderHeaders.Contains("*");

    public byte[][] ForwarderNames { get; } = [.. options.ForwarderHeaders.Where(h => h != "*").Select(System.Text.Encoding.Latin1.GetBytes)];
}
