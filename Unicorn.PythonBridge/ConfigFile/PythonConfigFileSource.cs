using System.Text.Json;
using Python.Runtime;
using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// Executes Gunicorn-style Python config files in this process's interpreter. The interpreter must already be
/// running (the bridge's runtime starts it); this class takes the GIL itself, so any thread may call it.
/// </summary>
public sealed class PythonConfigFileSource : IConfigFileSource
{
    public IReadOnlyList<KeyValuePair<string, object?>> Execute(ConfigLocation location, IReadOnlySet<string> settingNames, string workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(settingNames);
        var kind = location.Kind == ConfigLocationKind.PythonModule ? "module" : "file";
        var json = RunScript("a config file", ConfigFileScript.Source, ConfigFileScript.FunctionName,
            kind, location.Target, workingDirectory, JsonSerializer.Serialize(settingNames.ToArray(), BridgeJsonContext.Default.StringArray));
        return Interpret(json, location);
    }

    public UvicornWorkerSubclass? ReadWorkerClass(string path, IReadOnlyList<string> searchPath)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(searchPath);
        var json = RunScript("a worker class", WorkerClassScript.Source, WorkerClassScript.FunctionName, path, JsonSerializer.Serialize(searchPath, BridgeJsonContext.Default.IReadOnlyListString));
        return InterpretWorkerClass(json, path);
    }

    // Runs one of the scripts' functions with string arguments in a scope of its own; its answer is JSON.
    private static string RunScript(string what, string source, string function, params string[] args)
    {
        if (!PythonEngine.IsInitialized)
        {
            throw new InvalidOperationException($"the Python interpreter must be initialised before {what} is read");
        }

        using (Py.GIL())
        {
            _ = Logging.GloggingModule.Get(); // before the file runs: it may subclass gunicorn.glogging.Logger
            using var scope = Py.CreateScope("unicorn_" + function);
            scope.Exec(source);
            using var read = scope.Get(function);
            var arguments = args.Select(a => (PyObject)new PyString(a)).ToArray();
            try
            {
                using var result = read.Invoke(arguments);
                return result.As<string>();
            }
            finally
            {
                foreach (var argument in arguments)
                {
                    argument.Dispose();
                }
            }
        }
    }

    internal static UvicornWorkerSubclass? InterpretWorkerClass(string json, string path)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (root.TryGetProperty("error", out var error))
        {
            throw new ConfigException($"unicorn: worker class '{path}' (-k/--worker-class): {error.GetString()}");
        }

        var kwargs = root.GetProperty("kwargs").EnumerateArray()
            .Select(pair => new KeyValuePair<string, object?>(pair[0].GetString()!, ToValue(pair[1])))
            .ToList();
        return new UvicornWorkerSubclass(root.GetProperty("base").GetString()!, kwargs);
    }

    internal static IReadOnlyList<KeyValuePair<string, object?>> Interpret(string json, ConfigLocation location)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.TryGetProperty("error", out var error))
        {
            var file = root.GetProperty("file").GetString() ?? location.Display;
            var line = root.GetProperty("line").ValueKind == JsonValueKind.Number ? $", line {root.GetProperty("line").GetInt32()}" : "";
            var what = file == location.Display && location.Kind == ConfigLocationKind.PythonModule ? "module" : "file";
            throw new ConfigException($"unicorn: failed to read config {what} {file}{line}: {error.GetString()}");
        }

        var values = root.GetProperty("values").EnumerateArray()
            .Select(pair => new KeyValuePair<string, object?>(pair[0].GetString()!, ToValue(pair[1])))
            .ToList();
        if (root.TryGetProperty("environ", out var environ) && environ.EnumerateObject().Any())
        {
            values.Add(new(SettingsResolver.EnvironmentKey, environ.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal)));
        }

        if (root.TryGetProperty("path", out var path) && path.GetArrayLength() > 0)
        {
            values.Add(new(SettingsResolver.PythonPathKey, path.EnumerateArray().Select(p => p.GetString()!).ToList()));
        }

        return values;
    }

    private static object? ToValue(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? (object)l : e.GetDouble(),
        JsonValueKind.Array => e.EnumerateArray().Select(ToValue).ToList(),
        _ when e.TryGetProperty("$dict", out var items) =>
            items.EnumerateArray().GroupBy(p => p[0].GetString()!).ToDictionary(g => g.Key, g => ToValue(g.Last()[1]), StringComparer.Ordinal),
        _ when e.TryGetProperty("$callable", out var name) => new PythonCallable(name.GetString()!, e.GetProperty("arity").GetInt32()),
        _ when e.TryGetProperty("$class", out var cls) => new PythonClass(cls.GetString()!),
        _ => new PythonObject(e.GetProperty("$object").GetString()!, e.GetProperty("repr").GetString()!),
    };
}
