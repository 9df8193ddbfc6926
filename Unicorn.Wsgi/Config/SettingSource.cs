namespace Unicorn.Wsgi.Config;

/// <summary>Where a resolved value came from, lowest precedence first.</summary>
public enum SettingSource
{
    Default,
    /// <summary>The framework's own configuration (a PasteDeploy ini's <c>[server:main]</c>).</summary>
    Framework,
    ConfigFile,
    /// <summary><c>GUNICORN_CMD_ARGS</c>.</summary>
    Environment,
    CommandLine,
}
