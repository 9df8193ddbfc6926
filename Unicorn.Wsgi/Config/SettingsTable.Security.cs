namespace Unicorn.Wsgi.Config;

// The "Security" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string SecuritySection = "Security";

    private static IEnumerable<Setting> SecurityRows() =>
    [
        IntRow("limit_request_line", SecuritySection, ["--limit-request-line"], 4094,
            "Longest request line in bytes (0: unlimited; at most 8190); guards against oversized-request attacks."),
        IntRow("limit_request_fields", SecuritySection, ["--limit-request-fields"], 100,
            "Most header fields in one request (at most 32768)."),
        IntRow("limit_request_field_size", SecuritySection, ["--limit-request-field_size"], 8190,
            "Longest header field in bytes (0: unlimited)."),
    ];
}
