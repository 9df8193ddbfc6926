namespace Unicorn.Wsgi.Config;

/// <summary>
/// The resolved settings of one server: every setting of <see cref="SettingsTable"/> by its Gunicorn
/// name, holding typed values. Code reads the typed properties; the table, sources and validators that
/// fill it live beside this file.
/// </summary>
public sealed class Settings
{
    private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);

    public T Get<T>(string name) => _values.TryGetValue(name, out var v) ? (T)v! : throw new KeyNotFoundException($"unknown setting {name}");

    public void Set(string name, object? value) => _values[name] = value;

    public bool Contains(string name) => _values.ContainsKey(name);

    public IEnumerable<KeyValuePair<string, object?>> All => _values;

    // Typed views of the settings the server itself reads.
    public IReadOnlyList<string> Bind => Get<IReadOnlyList<string>>("bind");
    public int Backlog => Get<int>("backlog");
    public int Workers => Get<int>("workers");
    public string WorkerClass => Get<string>("worker_class");
    public int Threads => Get<int>("threads");
    public int Timeout => Get<int>("timeout");
    public int GracefulTimeout => Get<int>("graceful_timeout");
    public int KeepAlive => Get<int>("keepalive");
    public int LimitRequestLine => Get<int>("limit_request_line");
    public int LimitRequestFields => Get<int>("limit_request_fields");
    public int LimitRequestFieldSize => Get<int>("limit_request_field_size");
    public string? Chdir => Get<string?>("chdir");
    public IReadOnlyList<string> PythonPath => Get<IReadOnlyList<string>>("pythonpath");
    public IReadOnlyList<string> RawEnv => Get<IReadOnlyList<string>>("raw_env");
    public string? AppUri => Get<string?>("wsgi_app");
}
