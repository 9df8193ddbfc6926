using System.Text.Json;
using System.Text.Json.Serialization;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// What the context an <c>ssl_context</c> hook returned asks of the TLS set-up, read back in the master (the Python
/// bridge's <c>SslContextScript</c>) and handed to each worker with the settings. File names are absolute.
/// </summary>
public sealed record SslContextHookResult
{
    public required string CertFile { get; init; }

    /// <summary>Null: the key is in <see cref="CertFile"/>, as <c>load_cert_chain</c> reads it.</summary>
    public string? KeyFile { get; init; }

    /// <summary>The key's passphrase given to <c>load_cert_chain</c> (a callable's result).</summary>
    public string? Password { get; init; }

    /// <summary>The CA files loaded to verify client certificates; none: the system's, as the default context has.</summary>
    public IReadOnlyList<string> CaFiles { get; init; } = [];

    /// <summary>CA certificates given as <c>cadata</c>, in PEM.</summary>
    public IReadOnlyList<string> CaPem { get; init; } = [];

    /// <summary><c>verify_mode</c>: 0 (CERT_NONE), 1 (CERT_OPTIONAL) or 2 (CERT_REQUIRED).</summary>
    public int VerifyMode { get; init; }

    /// <summary>The last <c>set_ciphers</c> string; null: the system's.</summary>
    public string? Ciphers { get; init; }

    /// <summary>The TLS versions it allows ("TLSv1_2", "TLSv1_3"...); null: the system's.</summary>
    public IReadOnlyList<string>? Versions { get; init; }

    /// <summary>The ALPN protocols it offers; null: those the worker speaks.</summary>
    public IReadOnlyList<string>? Alpn { get; init; }

    /// <summary>What it asked for that .NET's <c>SslStream</c> cannot do (<c>sni_callback</c>, <c>load_dh_params()</c>...).</summary>
    public IReadOnlyList<string> Refused { get; init; } = [];

    public string ToJson() => JsonSerializer.Serialize(this, SslContextHookResultJson.Default.SslContextHookResult);

    public static SslContextHookResult FromJson(string json) =>
        JsonSerializer.Deserialize(json, SslContextHookResultJson.Default.SslContextHookResult) ?? throw new JsonException("null ssl_context result");
}

/// <summary>Source-generated (the native build has no reflection serializer), snake_case as the Python side writes it.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SslContextHookResult))]
internal sealed partial class SslContextHookResultJson : JsonSerializerContext;
