using System.Text.Json;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>A request case's <c>config</c> object (Gunicorn setting names) as parser options.</summary>
internal static class RequestVectorOptions
{
    /// <summary>A case's settings, through the same FromSettings the server uses. Unknown settings fail.</summary>
    public static HttpParserOptions From(JsonElement config)
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
