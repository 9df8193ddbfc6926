using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Unicorn.Wsgi.Config;

// The master hands resolved settings to each worker as JSON. Hooks travel as references only: the worker
// re-executes the config file to get the callables themselves.
public sealed partial class Settings
{
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("app_module", AppModule);
            w.WriteString("config_file", ConfigFile);
            w.WriteString("config_source", ConfigFileSource);
            w.WriteString("server_name", ServerName);
            w.WriteString("launch_dir", LaunchDirectory);
            w.WriteString("paste_uri", PasteUri);
            w.WriteString("ssl_context", SslContextResult?.ToJson());
            w.WriteStartObject("config_environ");
            foreach (var (name, value) in ConfigFileEnvironment)
            {
                w.WriteString(name, value);
            }

            w.WriteEndObject();
            w.WriteStartArray("argv");
            foreach (var arg in ProgramArgv)
            {
                w.WriteStringValue(arg);
            }

            w.WriteEndArray();
            w.WriteStartArray("config_path");
            foreach (var path in ConfigFilePythonPath)
            {
                w.WriteStringValue(path);
            }

            w.WriteEndArray();
            w.WritePropertyName("values");
            WriteValues(w);
            w.WriteStartObject("sources");
            foreach (var (name, source) in _sources)
            {
                w.WriteString(name, source.ToString());
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Only the resolved values, by setting name: what a hook's <c>cfg.&lt;setting&gt;</c> reads.</summary>
    public string ValuesJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            WriteValues(w);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>
    /// <paramref name="value"/> as JSON: plain values (strings, numbers, booleans, null, lists, string-keyed
    /// dictionaries) as the serializer writes them, a class by its dotted name; without reflection.
    /// </summary>
    internal static string PlainJson(object? value)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            WriteValue(w, value);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private void WriteValues(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        foreach (var (name, value) in _values)
        {
            w.WritePropertyName(name);
            WriteValue(w, value);
        }

        w.WriteEndObject();
    }

    public static Settings FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var settings = new Settings
        {
            AppModule = root.GetProperty("app_module").GetString(),
            ConfigFile = root.GetProperty("config_file").GetString(),
            ConfigFileSource = root.TryGetProperty("config_source", out var configSource) ? configSource.GetString() : null,
            ServerName = root.TryGetProperty("server_name", out var serverName) ? serverName.GetString() : null,
            LaunchDirectory = root.TryGetProperty("launch_dir", out var launch) ? launch.GetString() : null,
            PasteUri = root.GetProperty("paste_uri").GetString(),
            ConfigFileEnvironment = root.TryGetProperty("config_environ", out var environ)
                ? environ.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal)
                : new Dictionary<string, string>(),
            ConfigFilePythonPath = root.TryGetProperty("config_path", out var path) ? [.. path.EnumerateArray().Select(p => p.GetString()!)] : [],
            ProgramArgv = root.TryGetProperty("argv", out var argv) ? [.. argv.EnumerateArray().Select(p => p.GetString()!)] : [],
            SslContextResult = root.TryGetProperty("ssl_context", out var ssl) && ssl.GetString() is { } sslJson
                ? SslContextHookResult.FromJson(sslJson)
                : null,
        };
        var sources = root.GetProperty("sources");
        foreach (var property in root.GetProperty("values").EnumerateObject())
        {
            var source = sources.TryGetProperty(property.Name, out var s) ? Enum.Parse<SettingSource>(s.GetString()!) : SettingSource.Default;
            var type = SettingsTable.ByName.TryGetValue(property.Name, out var setting) ? setting.Type : (SettingType?)null;
            var value = ReadValue(property.Value, type);
            if (setting is { DomainValue: true } && value is not null)
            {
                value = setting.Validate(value, ResolveContext.Empty);
            }

            settings.Set(property.Name, value, source);
        }

        return settings;
    }

    private static void WriteValue(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case bool b: w.WriteBooleanValue(b); break;
            case int i: w.WriteNumberValue(i); break;
            case long l: w.WriteNumberValue(l); break;
            case double d: w.WriteNumberValue(d); break;
            case string s: w.WriteStringValue(s); break;
            case IPlainValue or Enum: WriteValue(w, PlainValue.Of(value)); break;
            case PythonClass c: w.WriteStringValue(c.FullName); break; // by its dotted name, as Python resolves it (logconfig_dict's "()")
            case HookReference h:
                w.WriteStartObject();
                w.WriteString("origin", h.Origin.ToString());
                w.WriteString("display", h.Display);
                w.WriteString("path", h.DottedPath);
                w.WriteEndObject();
                break;
            case IReadOnlyDictionary<string, object?> d:
                w.WriteStartObject();
                foreach (var (k, v) in d)
                {
                    w.WritePropertyName(k);
                    WriteValue(w, v);
                }

                w.WriteEndObject();
                break;
            case System.Collections.IEnumerable list:
                w.WriteStartArray();
                foreach (var item in list)
                {
                    WriteValue(w, item);
                }

                w.WriteEndArray();
                break;
            default:
                // Python objects without a plain form (PythonObject...) do not cross processes.
                w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static object? ReadValue(JsonElement e, SettingType? type) => type switch
    {
        _ when e.ValueKind == JsonValueKind.Null => null,
        SettingType.Int => e.GetInt32(),
        SettingType.Bool or SettingType.NullableBool => e.GetBoolean(),
        SettingType.String => e.GetString(),
        SettingType.StringList => e.EnumerateArray().Select(x => x.GetString()!).ToList(),
        SettingType.Hook => new HookReference(
            Enum.Parse<HookOrigin>(e.GetProperty("origin").GetString()!),
            e.GetProperty("display").GetString()!,
            e.GetProperty("path").GetString()),
        _ => ReadPlain(e),
    };

    private static object? ReadPlain(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? (object)l : e.GetDouble(),
        JsonValueKind.Array => e.EnumerateArray().Select(ReadPlain).ToList(),
        _ => e.EnumerateObject().ToDictionary(p => p.Name, p => ReadPlain(p.Value), StringComparer.Ordinal),
    };
}
