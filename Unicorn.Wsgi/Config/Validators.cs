using System.Globalization;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// The validators of the settings table. Each takes a config value — text from the command line or
/// the environment, or a value from a config file (see <see cref="ConfigFileValue"/>) — and returns the typed value,
/// or throws <see cref="SettingValueException"/> with the reason. They follow Gunicorn's rules; where Gunicorn
/// accepts a value it would only reject later (a malformed bind address, a bad log level), Unicorn rejects it here.
/// </summary>
internal static partial class Validators
{
    public static object? PositiveInt(object? value, ResolveContext _) => CheckNonNegative(ToInt(value, autoBase: true));

    /// <summary>workers: Gunicorn's rule, and not 0 (Gunicorn would start a master that serves nothing).</summary>
    public static object? WorkerCount(object? value, ResolveContext _) =>
        CheckNonNegative(ToInt(value, autoBase: true)) is var n and not 0 ? n : throw new SettingValueException("Value must be at least 1: 0");

    public static object? Bool(object? value, ResolveContext _) => ToBool(value) ?? false;

    public static object? NullableBool(object? value, ResolveContext _) => ToBool(value);

    public static object? String(object? value, ResolveContext _) => ToStringOrNull(value);

    public static object? StringList(object? value, ResolveContext _) => ToStringList(value);

    /// <summary>Comma-separated text to a list, blanks dropped.</summary>
    public static object? CommaList(object? value, ResolveContext _) => SplitCommas(ToStringOrNull(value));

    /// <summary>Comma-separated IP addresses or CIDR networks, or <c>*</c>; host bits must be clear, as Python's strict <c>ip_network</c>.</summary>
    public static object? AddressList(object? value, ResolveContext _)
    {
        if (value is IpAllowList parsed)
        {
            return parsed;
        }

        try
        {
            return IpAllowList.Parse(value is IEnumerable<string> list ? list : SplitCommas(ToStringOrNull(value)));
        }
        catch (FormatException e)
        {
            throw new SettingValueException(e.Message);
        }
    }

    public static object? Dict(object? value, ResolveContext _) => value switch
    {
        IReadOnlyDictionary<string, object?> d => new Dictionary<string, object?>(d, StringComparer.Ordinal),
        IEnumerable<KeyValuePair<string, string>> d => d.ToDictionary(p => p.Key, p => (object?)p.Value, StringComparer.Ordinal),
        _ => throw new SettingValueException($"Value is not a dictionary: {Describe(value)}"),
    };

    /// <summary>A class given by dotted name, or a class object from the config file.</summary>
    public static object? Class(object? value, ResolveContext _) => value switch
    {
        PythonClass c => c.FullName,
        PythonCallable f => throw new SettingValueException($"a factory function ({f.QualifiedName}) is not supported here; give the class or its dotted name"),
        _ => ToStringOrNull(value),
    };

    public static Func<object?, ResolveContext, object?> Hook(string name, int arity) => (value, _) => ToHook(name, value, [arity]);

    /// <summary><c>post_request</c> may take 2, 3 or 4 arguments; Gunicorn pads the call.</summary>
    public static object? PostRequestHook(object? value, ResolveContext _) => ToHook("post_request", value, [2, 3, 4]);

    public static object? User(object? value, ResolveContext _) => value switch
    {
        null => (int)Libc.geteuid(),
        long or int or bool => ToIdNumber(value),
        string s when s.Length > 0 && s.All(char.IsAsciiDigit) => ToIdNumber(s),
        string s => Libc.TryGetUser(s, out var uid, out var _) ? (int)uid : throw new SettingValueException($"No such user: '{s}'"),
        _ => throw new SettingValueException($"Not a user name or id: {Describe(value)}"),
    };

    public static object? Group(object? value, ResolveContext _) => value switch
    {
        null => (int)Libc.getegid(),
        long or int or bool => ToIdNumber(value),
        string s when s.Length > 0 && s.All(char.IsAsciiDigit) => ToIdNumber(s),
        string s => Libc.TryGetGroup(s, out var gid) ? (int)gid : throw new SettingValueException($"No such group: '{s}'"),
        _ => throw new SettingValueException($"Not a group name or id: {Describe(value)}"),
    };

    /// <summary>A directory, made absolute against the working directory; it must exist.</summary>
    public static object? Chdir(object? value, ResolveContext context)
    {
        var s = ToStringOrNull(value) ?? throw new SettingValueException("Not a string: None");
        var path = Path.GetFullPath(Path.Combine(context.WorkingDirectory, s));
        if (!Directory.Exists(path) && !File.Exists(path))
        {
            throw new SettingValueException($"can't chdir to '{s}'");
        }

        return path.Length > 1 ? path.TrimEnd('/') : path;
    }

    /// <summary>The <c>bind</c> addresses, each parsed into a <see cref="ListenAddress"/>.</summary>
    public static object? Binds(object? value, ResolveContext _)
    {
        if (value is IEnumerable<ListenAddress> parsed)
        {
            return parsed.ToList();
        }

        var addresses = new List<ListenAddress>();
        foreach (var text in ToStringList(value))
        {
            addresses.Add(ListenAddress.TryParse(text, out var address, out var problem) ? address : throw new SettingValueException(problem));
        }

        return addresses;
    }

    /// <summary>One listening address in <c>bind</c>'s syntax, or unset.</summary>
    public static object? Address(object? value, ResolveContext _)
    {
        var s = ToStringOrNull(value);
        return s is null || ListenAddress.TryParse(s, out ListenAddress _, out var problem) ? s : throw new SettingValueException(problem);
    }

    /// <summary><c>KEY=VALUE</c> entries; Gunicorn finds a missing '=' only when it applies them.</summary>
    public static object? RawEnv(object? value, ResolveContext _)
    {
        var list = ToStringList(value);
        foreach (var entry in list)
        {
            if (!entry.Contains('=', StringComparison.Ordinal))
            {
                throw new SettingValueException($"environment setting '{entry}' invalid (expected KEY=VALUE)");
            }
        }

        return list;
    }

    /// <summary><c>KEY=VALUE</c> with '=' in the key escaped as '\\='; Gunicorn finds a missing '=' only when loading the app.</summary>
    public static object? PasteGlobals(object? value, ResolveContext _)
    {
        var list = ToStringList(value);
        foreach (var entry in list)
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(entry, @"(?<!\\)="))
            {
                throw new SettingValueException($"paste global setting '{entry}' invalid (expected KEY=VALUE)");
            }
        }

        return list;
    }

    public static object? StatsdAddress(object? value, ResolveContext _)
    {
        if (value is Config.StatsdAddress || ToStringOrNull(value) is not { } s)
        {
            return value;
        }

        try
        {
            return Config.StatsdAddress.Parse(s);
        }
        catch (FormatException e)
        {
            throw new SettingValueException(e.Message);
        }
    }

    public static object? LogLevel(object? value, ResolveContext _)
    {
        var s = ToStringOrNull(value) ?? "info";
        return s.ToLowerInvariant() is "debug" or "info" or "warning" or "error" or "critical"
            ? s
            : throw new SettingValueException("must be one of debug, info, warning, error, critical");
    }

    /// <summary>One of a fixed set of words, compared case-insensitively, returned lower-case.</summary>
    public static Func<object?, ResolveContext, object?> OneOf(string? ifNone, params string[] choices) => (value, _) =>
    {
        if (value is null)
        {
            return ifNone;
        }

        var s = value as string ?? throw new SettingValueException($"Invalid type for casting: {Describe(value)}");
        var word = s.Trim().ToLowerInvariant();
        return choices.Contains(word) ? word : throw new SettingValueException($"must be one of {string.Join(", ", choices)}");
    };

    /// <summary><c>worker_heap_limit</c>: auto, unlimited, a size (64M, 1G, bytes) or a percentage (10%).</summary>
    public static object? WorkerHeapLimit(object? value, ResolveContext _) => value switch
    {
        null => Config.WorkerHeapLimit.Auto,
        WorkerHeapLimit w => w,
        string s => Config.WorkerHeapLimit.Parse(s),
        int or long => Config.WorkerHeapLimit.Parse(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!),
        _ => throw new SettingValueException("worker_heap_limit must be a string or an integer"),
    };

    /// <summary>Gunicorn's validate_proxy_protocol: booleans and off/false/0/none/v1/v2/auto/true/1.</summary>
    public static object? ProxyProtocol(object? value, ResolveContext _) => value switch
    {
        null => ProxyProtocolMode.Off,
        ProxyProtocolMode m => m,
        bool b => b ? ProxyProtocolMode.Auto : ProxyProtocolMode.Off,
        string s => s.Trim().ToLowerInvariant() switch
        {
            "false" or "off" or "0" or "none" => ProxyProtocolMode.Off,
            "true" or "auto" or "1" => ProxyProtocolMode.Auto,
            "v1" => ProxyProtocolMode.V1,
            "v2" => ProxyProtocolMode.V2,
            _ => throw new SettingValueException("proxy_protocol must be: off, v1, v2, or auto"),
        },
        _ => throw new SettingValueException("proxy_protocol must be string or bool"),
    };

    /// <summary><c>header_map</c>: drop, refuse or dangerous (any case); unset stays unset and reads as drop.</summary>
    public static object? HeaderMap(object? value, ResolveContext context) => value switch
    {
        HeaderMapPolicy p => p,
        _ => OneOf(null, "drop", "refuse", "dangerous")(value, context) switch
        {
            "drop" => HeaderMapPolicy.Drop,
            "refuse" => HeaderMapPolicy.Refuse,
            "dangerous" => HeaderMapPolicy.Dangerous,
            _ => null,
        },
    };

    public static object? Http2Cleartext(object? value, ResolveContext context) => value switch
    {
        null => "off",
        bool b => b ? "prior-knowledge" : "off",
        _ => OneOf("off", "off", "prior-knowledge", "upgrade", "both")(value, context),
    };

    public static object? HttpProtocols(object? value, ResolveContext _)
    {
        var list = SplitCommas(ToStringOrNull(value)).Select(p => p.ToLowerInvariant()).ToList();
        if (list.Count == 0)
        {
            return new List<string> { "h1" };
        }

        foreach (var p in list)
        {
            if (p is not ("h1" or "h2" or "h3"))
            {
                throw new SettingValueException($"Invalid protocol '{p}'. Valid protocols: h1, h2, h3");
            }
        }

        return list.Distinct().Count() == list.Count ? list : throw new SettingValueException("Duplicate protocols specified");
    }

    public static object? Http2FrameSize(object? value, ResolveContext _)
    {
        var n = ToInt(value, autoBase: true);
        return n is >= 16384 and <= 16777215 ? n : throw new SettingValueException($"http2_max_frame_size must be between 16384 and 16777215, got {n}");
    }

    /// <summary>
    /// Deprecated and ignored by Gunicorn, which accepts any value (with a warning): names map to the
    /// <c>ssl.PROTOCOL_*</c> numbers, and any other name (<c>SSLv3</c>, which Gunicorn's own table lists, or
    /// <c>TLSv1_3</c>) is taken as the default, <c>PROTOCOL_TLS</c> (2), since nothing reads it.
    /// </summary>
    public static object? SslVersion(object? value, ResolveContext context) => value switch
    {
        string s when !s.Trim().All(char.IsAsciiDigit) => s.Trim() switch
        {
            "TLS" or "SSLv23" => 2,
            "TLSv1" => 3,
            "TLSv1_1" => 4,
            "TLSv1_2" => 5,
            "TLS_CLIENT" => 16,
            "TLS_SERVER" => 17,
            _ => 2,
        },
        _ => PositiveInt(value, context),
    };

    public static object? CertReqs(object? value, ResolveContext _)
    {
        var n = CheckNonNegative(ToInt(value, autoBase: true));
        return n <= 2 ? n : throw new SettingValueException("must be 0 (CERT_NONE), 1 (CERT_OPTIONAL) or 2 (CERT_REQUIRED)");
    }

    /// <summary>Literal paths must exist; glob patterns pass through for the reloader to expand.</summary>
    public static object? FilesOrPatterns(object? value, ResolveContext context)
    {
        var list = ToStringList(value);
        foreach (var entry in list)
        {
            var isPattern = entry.AsSpan().IndexOfAny("*?[") >= 0;
            if (!isPattern && !File.Exists(Path.Combine(context.WorkingDirectory, entry)) && !Directory.Exists(Path.Combine(context.WorkingDirectory, entry)))
            {
                throw new SettingValueException($"File {entry} does not exists.");
            }
        }

        return list;
    }

    internal static int ToInt(object? value, bool autoBase)
    {
        long n = value switch
        {
            bool b => b ? 1 : 0,
            int i => i,
            long l => l,
            string s => PythonInt.TryParse(s, autoBase, out var parsed)
                ? parsed
                : throw new SettingValueException($"invalid literal for int() with base {(autoBase ? 0 : 10)}: '{s}'"),
            _ => throw new SettingValueException($"Not an integer: {Describe(value)}"),
        };
        return n is >= int.MinValue and <= int.MaxValue ? (int)n : throw new SettingValueException($"Value is too large: {n}");
    }

    private static int CheckNonNegative(int n) => n >= 0 ? n : throw new SettingValueException($"Value must be positive: {n}");

    private static int ToIdNumber(object value)
    {
        var n = value is string s ? (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : -1) : ToInt(value, false);
        return n is >= 0 and <= int.MaxValue ? (int)n : throw new SettingValueException($"Not a valid id: {Describe(value)}");
    }

    private static bool? ToBool(object? value) => value switch
    {
        null => null,
        bool b => b,
        string s => s.Trim().ToLowerInvariant() switch
        {
            "true" => true,
            "false" => false,
            _ => throw new SettingValueException($"Invalid boolean: {s}"),
        },
        _ => throw new SettingValueException($"Invalid type for casting: {Describe(value)}"),
    };

    internal static string? ToStringOrNull(object? value) => value switch
    {
        null => null,
        string s => s.Trim(),
        _ => throw new SettingValueException($"Not a string: {Describe(value)}"),
    };

    private static List<string> ToStringList(object? value) => value switch
    {
        null => [],
        string s when s.Length == 0 => [],
        string s => [s.Trim()],
        IReadOnlyList<object?> list => list.Select(v => ToStringOrNull(v) ?? throw new SettingValueException("Not a string: None")).ToList(),
        IEnumerable<string> strings => strings.Select(v => v.Trim()).ToList(),
        _ => throw new SettingValueException($"Not a list of strings: {Describe(value)}"),
    };

    private static List<string> SplitCommas(string? s) =>
        string.IsNullOrEmpty(s) ? [] : s.Split(',').Where(v => v.Length > 0).Select(v => v.Trim()).ToList();

    private static HookReference ToHook(string name, object? value, int[] arities)
    {
        switch (value)
        {
            case HookReference h:
                return h;
            case PythonCallable c:
                if (c.Arity != -1 && !arities.Contains(c.Arity))
                {
                    throw new SettingValueException($"Value must have an arity of: {string.Join(" or ", arities)} (got {c.Arity})");
                }

                return new HookReference(HookOrigin.ConfigFile, c.QualifiedName);
            case string s:
                var dotted = s.Trim();
                var dot = dotted.LastIndexOf('.');
                if (dot <= 0 || dot == dotted.Length - 1)
                {
                    throw new SettingValueException($"Value '{dotted}' is not import string. Format: module[.submodules...].object");
                }

                return new HookReference(HookOrigin.DottedPath, dotted[(dot + 1)..], dotted);
            default:
                throw new SettingValueException($"Value is not callable: {Describe(value)} (for {name})");
        }
    }

    internal static string Describe(object? value) => value switch
    {
        PythonObject o => o.Repr,
        PythonCallable c => c.QualifiedName,
        PythonClass c => c.FullName,
        _ => PythonRepr.Format(value),
    };
}
