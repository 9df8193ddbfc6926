namespace Unicorn.Wsgi.Config;

// The "Process Naming" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string NamingSection = "Process Naming";

    private static IEnumerable<Setting> ProcessNamingRows() =>
    [
        StringRow("proc_name", NamingSection, ["-n", "--name"], "STRING", null,
            "The name shown by ps and top (default: default_proc_name)."),
        StringRow("default_proc_name", NamingSection, [], null, "gunicorn",
            "The process name when proc_name is unset; the command line's APP_MODULE fills it in."),
    ];
}
