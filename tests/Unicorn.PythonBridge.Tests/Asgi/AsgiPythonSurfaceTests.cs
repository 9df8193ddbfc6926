using System.Reflection;
using System.Text.RegularExpressions;
using Unicorn.PythonBridge.Asgi;
using Unicorn.PythonBridge.Tests.Support;

namespace Unicorn.PythonBridge.Tests.Asgi;

/// <summary>
/// unicorn_asgi.py reaches C# through pythonnet by name: every member it uses on <c>native</c> (the loop) and on an
/// exchange must exist as a public member, since pythonnet binds nothing else, and a rename on one side only would
/// fail at the first request rather than at build time.
/// </summary>
public sealed partial class AsgiPythonSurfaceTests
{
    private static readonly string s_source = File.ReadAllText(
        Path.Combine(PythonFixture.FindRepoRoot(), "Unicorn.PythonBridge", "Python", "unicorn_asgi.py"));

    [Fact]
    public void Every_loop_member_the_python_half_calls_is_public()
    {
        var used = Members(NativeUse(), s_source);
        Assert.Contains("Log", used);
        Assert.All(used, name => Assert.True(IsPublic(typeof(PythonAsgiLoop), name), $"PythonAsgiLoop has no public {name}"));
    }

    [Fact]
    public void Every_exchange_member_the_python_half_uses_is_public()
    {
        var used = Members(ExchangeUse(), s_source);
        Assert.Contains("Write", used);
        Assert.Contains("Read", used);
        Assert.All(used, name => Assert.True(IsPublic(typeof(PythonAsgiExchange), name), $"PythonAsgiExchange has no public {name}"));
    }

    [Fact]
    public void Every_websocket_member_the_python_half_uses_is_public()
    {
        var used = Members(SocketUse(), s_source);
        Assert.Contains("Send", used);
        Assert.All(used, name => Assert.True(IsPublic(typeof(PythonAsgiWebSocket), name), $"PythonAsgiWebSocket has no public {name}"));
    }

    [Fact]
    public void Every_c_function_the_python_half_calls_is_registered()
    {
        // Server.fast holds AsgiNativeCallbacks' PyCFunctions, registered by name: a name used but never added fails
        // only when a message arrives.
        var registered = Members(Registered(), File.ReadAllText(
            Path.Combine(PythonFixture.FindRepoRoot(), "Unicorn.PythonBridge", "Asgi", "AsgiNativeCallbacks.cs")));
        var used = Members(FastUse(), s_source);
        Assert.Equal(["body", "drain", "finish", "http_scope", "start", "write", "ws_receive", "ws_send"], used.Order());
        Assert.Subset(registered, used);
    }

    private static HashSet<string> Members(Regex pattern, string source) =>
        [.. pattern.Matches(source).Select(m => m.Groups[1].Value)];

    private static bool IsPublic(Type type, string name) =>
        type.IsPublic && type.GetMember(name, BindingFlags.Public | BindingFlags.Instance).Length > 0;

    // C# members are PascalCase; Python's own attributes on these objects are not.
    [GeneratedRegex(@"\bnative\.([A-Z]\w*)")]
    private static partial Regex NativeUse();

    [GeneratedRegex(@"\b(?:ex|exchange)\.([A-Z]\w*)")]
    private static partial Regex ExchangeUse();

    [GeneratedRegex(@"\bsocket\.([A-Z]\w*)")]
    private static partial Regex SocketUse();

    [GeneratedRegex(@"\bfast\.([a-z_]+)")]
    private static partial Regex FastUse();

    [GeneratedRegex(@"Add\(ns, ""(\w+)""")]
    private static partial Regex Registered();
}
