namespace Unicorn.Wsgi.Config;

/// <summary>Thrown by a validator: the reason a value is wrong, without the setting's name (the caller adds it).</summary>
public sealed class SettingValueException : Exception
{
    public SettingValueException()
    {
    }

    public SettingValueException(string message)
        : base(message)
    {
    }

    public SettingValueException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
