using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Logging;

internal static class LogSettings
{
    /// <summary>Settings holding just the given values (the rest read as unset).</summary>
    public static Settings With(params (string Name, object? Value)[] values)
    {
        var settings = new Settings();
        foreach (var (name, value) in values)
        {
            // Stored as given, not validated: LoggingSetup's own checks must hold for values the table would refuse.
            settings.Set(name, value, SettingSource.Default);
        }

        return settings;
    }
}
