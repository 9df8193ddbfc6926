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
        if (!PythonEngine.IsInitialized)
        {
            throw new InvalidOperationException("the Python interpreter must be initialised before a config file is read");
        }

        var kind = location.Kind == ConfigLocationKind.PythonModule ? "module" : "file";
        string json;
        using (Py.GIL())
        {
            using var scope = Py.CreateScope("unicorn_config_reader");
            scope.Exec(ConfigFileScript.Source);
            using var read = scope.Get(ConfigFileScript.FunctionName);
            using var kindArg = new PyString(kind);
            using var targetArg = new PyString(location.Target);
            using var workdirArg = new PyString(workingDirectory);
            using var namesArg = new PyString(JsonSerializer.Serialize(settingNames.ToArray()));
            using var result = read.Invoke(kindArg, targetArg, workdirArg, namesArg);
            json = result.As<string>();
        }

        return Interpret(json, location);
    }

    public UvicornWorkerSubclass? ReadWorkerClass(string path, IReadOnlyList<string> searchPath)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(searchPath);
        if (!PythonEngine.IsInitialized)
        {
            throw new InvalidOperationException("the Python interpreter must be initialised before a worker class is read");
        }

        string json;
        using (Py.GIL())
        {
            using var scope = Py.CreateScope("unicorn_worker_class_reader");
            scope.Exec(WorkerClassScript.Source);
            using var read = scope.Get(WorkerClassScript.FunctionName);
            using var pathArg = new PyString(path);
            using var dirsArg = new PyString(JsonSerializer.Serialize(searchPath));
            using var result = read.Invoke(pathArg, dirsArg);
            json = result.As<string>();
        }

        return InterpretWorkerClass(json, path);
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

        return root.GetProperty("values").EnumerateArray()
            .Select(pair => new KeyValuePair<string, object?>(pair[0].GetString()!, ToValue(pair[1])))
            .ToList();
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
