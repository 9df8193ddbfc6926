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
        IntRow("min_request_body_rate", SecuritySection, ["--min-request-body-rate"], 240,
            "Slowest request body, in bytes per second averaged over the time spent waiting for it, after a 5 s grace " +
            "(Kestrel's MinRequestBodyDataRate and default); 0 disables. A client below it is cut off: nothing is " +
            "answered when the body is read before the app, and the app's read fails as for a client gone. Time the " +
            "app spends not reading does not count. Bounds a client trickling a body, which each read's timeout does not.") with
        { UnicornOnly = true },
    ];
}
