namespace Unicorn.Wsgi.Config;

// The "Config File" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string ConfigFileSection = "Config File";

    private static IEnumerable<Setting> ConfigFileRows() =>
    [
        StringRow("config", ConfigFileSection, ["-c", "--config"], "CONFIG", "./gunicorn.conf.py",
            "The config file: PATH, file:PATH or python:MODULE_NAME (a .toml file, or pyproject.toml's [tool.unicorn] table, also works). " +
            "Without it, ./gunicorn.conf.py is read when present. Only the command line and GUNICORN_CMD_ARGS can set it."),
        StringRow("wsgi_app", ConfigFileSection, [], "STRING", null,
            "The application as MODULE:VARIABLE, used when no APP_MODULE is given on the command line."),
    ];
}
