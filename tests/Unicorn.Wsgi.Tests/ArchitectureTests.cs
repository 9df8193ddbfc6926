using System.Reflection;
using System.Runtime.InteropServices;
using Mono.Cecil.Cil;
using GenericInstanceMethod = Mono.Cecil.GenericInstanceMethod;
using MethodReference = Mono.Cecil.MethodReference;
using ModuleDefinition = Mono.Cecil.ModuleDefinition;
using TypeDefinition = Mono.Cecil.TypeDefinition;
using NetArchTest.Rules;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Tests;

/// <summary>
/// The layering docs/architecture.md draws, checked on the compiled Unicorn.Wsgi assembly: a reference that
/// crosses a seam fails here, naming the type, instead of growing quietly (issue #13).
/// </summary>
public sealed class ArchitectureTests
{
    private const string Root = "Unicorn.Wsgi.";
    private static readonly Assembly Wsgi = typeof(Settings).Assembly;

    [Theory]
    [InlineData("Http", new[] { "Transport", "Connections", "Workers", "Arbiter", "Hooks", "ProcessContract" })] // bytes and rules, no sockets
    [InlineData("Transport", new[] { "Http", "Connections", "Workers", "Arbiter", "Hooks", "ProcessContract" })] // sockets, no HTTP
    [InlineData("Connections", new[] { "Workers", "Arbiter", "Hooks", "ProcessContract", "Application" })] // stages and handler selection, no app
    [InlineData("Workers", new[] { "Arbiter", "Hooks" })] // what it shares with the master is in ProcessContract
    // The uwsgi wire format: bytes in, a request out, like Http/ (Workers/UwsgiConnection joins it to sockets).
    [InlineData("Uwsgi", new[] { "Http", "Transport", "Connections", "Workers", "Arbiter", "Hooks", "ProcessContract", "Config", "Logging", "Interop" })]
    // An app host sees a request and its sink, never bytes or sockets (see also App_hosts_do_not_see_the_worker).
    [InlineData("Workers.Hosts", new[] { "Http", "Transport", "Connections", "Arbiter", "Hooks", "ProcessContract" })]
    [InlineData("Arbiter", new[] { "Connections", "Workers", "Hooks" })]
    [InlineData("ProcessContract", new[] { "Arbiter", "Connections", "Workers", "Hooks" })]
    [InlineData("Config", new[] { "Arbiter", "Connections", "Workers", "Hooks", "ProcessContract" })] // no import loops
    [InlineData("Application", new[] { "Config", "Http", "Transport", "Connections", "Workers", "Arbiter", "Hooks", "ProcessContract", "Logging" })]
    [InlineData("Interop", new[] { "Config", "Http", "Transport", "Connections", "Workers", "Arbiter", "Hooks", "ProcessContract", "Logging", "Application" })]
    public void A_part_does_not_reference_the_parts_above_it(string part, string[] forbidden)
    {
        var result = Types.InAssembly(Wsgi)
            .That().ResideInNamespace(Root + part)
            .ShouldNot().HaveDependencyOnAny([.. forbidden.Select(f => Root + f)])
            .GetResult();

        Assert.True(result.IsSuccessful, $"{part} references {string.Join("/", forbidden)}: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void The_control_socket_reaches_the_master_only_through_its_interface()
    {
        // Arbiter/Control runs on the thread pool; the worker table belongs to the arbiter's loop, which runs
        // each command through IControlTarget. A control type naming the arbiter, its workers or the process
        // contract could touch that state from the wrong thread. The dirty pool is reached through IDirtyPool
        // too: which dirty arbiter runs (a HUP may start, replace or stop it) is the master's to say.
        var result = Types.InAssembly(Wsgi)
            .That().ResideInNamespace(Root + "Arbiter.Control")
            .ShouldNot().HaveDependencyOnAny(Root + "Arbiter.Arbiter", Root + "Arbiter.WorkerHandle", Root + "Arbiter.WorkerPlan", Root + "ProcessContract", Root + "Transport",
                Root + "Arbiter.DirtyPool", Root + "Arbiter.DirtyArbiterProcess", Root + "Arbiter.DirtyArbiterClient")
            .GetResult();
        Assert.True(result.IsSuccessful, "Arbiter/Control reaches past IControlTarget: " + string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Fact]
    public void The_http1_parser_knows_nothing_of_the_proxy_protocol()
    {
        // The PROXY header is the connection pipeline's (Connections/ProxyProtocolStage), read before TLS and
        // before any protocol handler; a parser that reads it again would make HTTP/2 and uwsgi miss it.
        var result = Types.InAssembly(Wsgi)
            .That().ResideInNamespace(Root + "Http")
            .ShouldNot().HaveDependencyOnAny(Root + "Connections.ProxyInfo", Root + "Connections.ProxyHeaderParser")
            .GetResult();
        Assert.True(result.IsSuccessful, string.Join(", ", result.FailingTypeNames ?? []));
        Assert.DoesNotContain(typeof(Unicorn.Wsgi.Http.Http1RequestParser).GetMethods(), m => m.Name.Contains("Proxy", StringComparison.Ordinal));
    }

    [Fact]
    public void Workers_leave_proxy_and_tls_to_the_pipeline()
    {
        // A worker that read PROXY headers or ran handshakes itself would bypass the stages every protocol
        // handler relies on (Connections/ConnectionPipeline).
        var result = Types.InAssembly(Wsgi)
            .That().ResideInNamespace(Root + "Workers")
            .ShouldNot().HaveDependencyOnAny(typeof(Unicorn.Wsgi.Transport.Tls.TlsConnection).FullName!, Root + "Connections.ProxyHeaderParser", Root + "Connections.ProxyProtocolStage", Root + "Connections.TlsStage")
            .GetResult();
        Assert.True(result.IsSuccessful, "Workers runs a pipeline stage itself: " + string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Fact]
    public void Only_the_registry_names_a_concrete_app_host()
    {
        // The worker and its connections hold an IAppHost; which one runs is AppHosts' choice alone (a host
        // and its factory may name each other).
        var concrete = Wsgi.GetTypes()
            .Where(t => t.IsClass && (typeof(IAppHost).IsAssignableFrom(t) || typeof(IAppHostFactory).IsAssignableFrom(t)))
            .Select(t => t.FullName!)
            .ToArray();
        Assert.NotEmpty(concrete);
        var result = Types.InAssembly(Wsgi)
            .That().ResideInNamespace(Root + "Workers")
            .And().DoNotImplementInterface(typeof(IAppHost))
            .And().DoNotImplementInterface(typeof(IAppHostFactory))
            .And().DoNotHaveName(nameof(AppHosts))
            .ShouldNot().HaveDependencyOnAny(concrete)
            .GetResult();

        Assert.True(result.IsSuccessful, "a concrete app host named outside AppHosts: " + string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Fact]
    public void App_hosts_do_not_see_the_worker()
    {
        // Not the connection that parsed the request, nor the worker or process around it: a greenlet or
        // asyncio host then plugs in beside the threaded one without touching the protocol.
        var worker = Wsgi.GetTypes().Where(t => t.Namespace == Root + "Workers").Select(t => t.FullName!).ToArray();
        Assert.Contains(Root + "Workers.HttpConnection", worker);
        var result = Types.InAssembly(Wsgi)
            .That().ResideInNamespace(Root + "Workers.Hosts")
            .ShouldNot().HaveDependencyOnAny(worker)
            .GetResult();

        Assert.True(result.IsSuccessful, "an app host references Unicorn.Wsgi.Workers: " + string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Theory]
    [InlineData("unicorn_greenlet.py", new[] { "gevent.pywsgi", "gevent.server", "StreamServer", "eventlet.wsgi", "eventlet.listen", ".accept(" })]
    [InlineData("unicorn_tornado.py", new[] { "tornado.httpserver", "tornado.tcpserver", "HTTPServer(", "bind_sockets", "add_socket", "HTTP1ServerConnection" })]
    public void The_async_workers_python_halves_run_no_server_of_their_own(string file, string[] servers)
    {
        // gevent, eventlet and tornado bring HTTP servers; Unicorn keeps sockets, TLS and parsing in C# and hands these
        // modules parsed requests only (docs/architecture.md, "Adding a worker class").
        var source = File.ReadAllText(Path.Combine(Config.RepositoryPaths.Root, "Unicorn.PythonBridge", "Python", file));
        foreach (var server in servers)
        {
            Assert.DoesNotContain(server, source, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_asgi_loops_per_message_calls_into_dotnet_are_c_functions()
    {
        // A pythonnet method call releases and retakes the GIL and converts its arguments; the loop's wake-up and each
        // websocket message go through Server.fast (Unicorn.PythonBridge/Asgi/AsgiNativeCallbacks) instead, and so
        // do an http request's scope (a dict built in C#), start, body write and finish; the request is dispatched by id,
        // with no pythonnet wrapper of its exchange.
        var source = File.ReadAllText(Path.Combine(Config.RepositoryPaths.Root, "Unicorn.PythonBridge", "Python", "unicorn_asgi.py"));
        Assert.Contains("self.fast.drain()", source, StringComparison.Ordinal);
        Assert.Contains("server.fast.ws_receive", source, StringComparison.Ordinal);
        Assert.Contains("server.fast.ws_send", source, StringComparison.Ordinal);
        foreach (var call in new[] { "server.fast.http_scope(", "server.fast.start(", "server.fast.write(", "server.fast.finish(" })
        {
            Assert.Contains(call, source, StringComparison.Ordinal);
        }

        foreach (var crossing in new[] { ".Drain(", ".Receive(", ".SendNow(", ".WriteNow(", "exchange.Id", "exchange.IsWebSocket", "def request(self, exchange," })
        {
            Assert.DoesNotContain(crossing, source, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void An_app_host_accepts_only_through_the_idle_acceptor()
    {
        // The sync worker's thread accepts when idle, but the host only calls IIdleAcceptor: listeners, poll(2)
        // and connection slots stay in Workers/IdleAcceptor, and no host touches a socket.
        var result = Types.InAssembly(Wsgi)
            .That().ResideInNamespace(Root + "Workers.Hosts")
            .ShouldNot().HaveDependencyOn("System.Net.Sockets")
            .GetResult();
        Assert.True(result.IsSuccessful, "an app host uses sockets: " + string.Join(", ", result.FailingTypeNames ?? []));
        Assert.Contains(typeof(IIdleAcceptor), Wsgi.GetType(Root + "Workers.IdleAcceptor")!.GetInterfaces());
    }

    [Fact]
    public void An_upgraded_connection_is_handed_over_as_a_stream()
    {
        // The HTTP/1 connection hands its stream over (IConnectionUpgrade) and knows nothing of websockets: framing is
        // .NET's System.Net.WebSockets, used by the host that accepted the upgrade (the ASGI bridge), never hand-written here.
        var result = Types.InAssembly(Wsgi).ShouldNot().HaveDependencyOn("System.Net.WebSockets").GetResult();
        Assert.True(result.IsSuccessful, "websocket framing inside Unicorn.Wsgi: " + string.Join(", ", result.FailingTypeNames ?? []));
        Assert.Contains(typeof(IConnectionUpgrade), Wsgi.GetType(Root + "Workers.HttpConnection")!.GetInterfaces());
    }

    [Fact]
    public void Only_the_bridge_references_pythonnet()
    {
        Assert.DoesNotContain(Wsgi.GetReferencedAssemblies(), a => a.Name == "Python.Runtime");
        var result = Types.InAssembly(Wsgi).ShouldNot().HaveDependencyOn("Python.Runtime").GetResult();
        Assert.True(result.IsSuccessful, string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Fact]
    public void PInvoke_lives_only_in_Interop()
    {
        const BindingFlags all = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance;
        var offenders = Wsgi.GetTypes()
            .Where(t => t.Namespace != Root + "Interop")
            .SelectMany(t => t.GetMethods(all))
            // DllImport compiles to a PinvokeImpl method; LibraryImport keeps its attribute on the declared method and
            // generates a PinvokeImpl stub beside it.
            .Where(m => m.Attributes.HasFlag(MethodAttributes.PinvokeImpl) || m.IsDefined(typeof(LibraryImportAttribute)))
            .Select(m => $"{m.DeclaringType!.FullName}.{m.Name}")
            .ToList();

        Assert.True(offenders.Count == 0, "P/Invoke outside Unicorn.Wsgi.Interop: " + string.Join(", ", offenders));
    }

    [Fact]
    public void Settings_are_read_by_name_only_inside_Config()
    {
        // Outside Config, code reads Settings' typed properties: a Get<T>("name") or Contains("name") there is a
        // second, untyped way to read a setting.
        using var module = ModuleDefinition.ReadModule(Wsgi.Location);
        var readers = module.Types
            .Where(t => t.Namespace != Root + "Config")
            .SelectMany(t => NestedAndSelf(t).SelectMany(n => n.Methods).Where(m => m.HasBody).Select(m => (Outer: t.FullName, m.Body)))
            .Where(m => m.Body.Instructions.Any(IsReadByName))
            .Select(m => m.Outer)
            .ToHashSet();

        Assert.True(readers.Count == 0, "Settings.Get/Contains by name outside Config: " + string.Join(", ", readers));
    }

    private static IEnumerable<TypeDefinition> NestedAndSelf(TypeDefinition type) => [type, .. type.NestedTypes.SelectMany(NestedAndSelf)];

    private static bool IsReadByName(Instruction i) =>
        i.OpCode.FlowControl == FlowControl.Call && i.Operand is MethodReference m
        && m.DeclaringType.FullName == typeof(Settings).FullName && (m is GenericInstanceMethod g ? g.ElementMethod.Name : m.Name) is "Get" or "Contains";

    [Fact]
    public void BaseApplication_reaches_the_server_only_through_its_command_line()
    {
        // packaging/python's BaseApplication.run() execs the program with -c python:unicorn_server.app.config, a
        // config module that reads its own environment variable: the server knows nothing of it, and must not
        // grow a second way in for it.
        using var module = ModuleDefinition.ReadModule(Wsgi.Location);
        var naming = module.Types
            .SelectMany(t => NestedAndSelf(t).SelectMany(n => n.Methods).Where(m => m.HasBody).Select(m => (Outer: t.FullName, m.Body)))
            .Where(m => m.Body.Instructions.Any(i => i.OpCode == OpCodes.Ldstr && i.Operand is string text
                && (text.Contains("UNICORN_BASE_APPLICATION", StringComparison.Ordinal) || text.Contains("unicorn_server", StringComparison.Ordinal))))
            .Select(m => m.Outer)
            .ToHashSet();

        Assert.True(naming.Count == 0, "the server names BaseApplication's package or variable: " + string.Join(", ", naming));
        Assert.True(File.Exists(Path.Combine(RepoRoot(), "packaging", "python", "unicorn_server", "app", "config.py")), "the check no longer sees packaging/python");
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Unicorn.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("no Unicorn.sln above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Only_the_command_line_model_references_System_CommandLine()
    {
        // The command line's library stays behind one type: CommandLine's callers see ParsedArguments, never its API.
        var model = typeof(CommandLineModel).FullName!;
        var offenders = (Types.InAssembly(Wsgi).ShouldNot().HaveDependencyOn("System.CommandLine").GetResult().FailingTypeNames ?? [])
            .ToList();
        // The model's own closures (its option parsers) are nested types named after it.
        Assert.Contains(model, offenders);
        Assert.True(offenders.All(n => n == model || n.StartsWith(model + "+", StringComparison.Ordinal)), string.Join(", ", offenders));
    }

    [Fact]
    public void Only_the_http2_handler_references_asp_net_core()
    {
        // Kestrel stays behind Workers/Http2*: a worker that does not offer h2 never loads ASP.NET Core, and the
        // rest of the server never depends on it.
        var offenders = (Types.InAssembly(Wsgi).ShouldNot().HaveDependencyOnAny("Microsoft.AspNetCore", "Microsoft.Extensions").GetResult().FailingTypeNames ?? [])
            .ToList();
        Assert.Contains(Root + "Workers.Http2ConnectionHandler", offenders);
        Assert.True(offenders.All(n => n.StartsWith(Root + "Workers.Http2", StringComparison.Ordinal)), string.Join(", ", offenders));
        // The HTTP/1 connection reaches the h2c Upgrade route, so that route must not pull Kestrel in itself.
        Assert.DoesNotContain(offenders, n => n.StartsWith(Root + "Workers.Http2CleartextUpgrade", StringComparison.Ordinal));
    }

    [Fact]
    public void Only_Http2EarlyHints_names_kestrels_internals()
    {
        // Kestrel's internal types are no API: one class reaches them (for 103 over HTTP/2), detects them once and
        // does without them when a Kestrel lacks them; nothing else may grow a dependency on them.
        using var module = ModuleDefinition.ReadModule(Wsgi.Location);
        var naming = module.Types
            .SelectMany(t => NestedAndSelf(t).SelectMany(n => n.Methods).Where(m => m.HasBody).Select(m => (Outer: t.FullName, m.Body)))
            .Where(m => m.Body.Instructions.Any(i => i.OpCode == OpCodes.Ldstr && i.Operand is string text
                && text.StartsWith("Microsoft.AspNetCore.Server.Kestrel.Core.Internal", StringComparison.Ordinal)))
            .Select(m => m.Outer)
            .ToHashSet();

        Assert.Equal([Root + "Workers.Http2EarlyHints"], naming);
    }

    [Fact]
    public void The_spares_warm_up_is_told_what_to_compile()
    {
        // worker_spares: which parts a parked spare compiles is the program's choice (WorkerStartup), so a
        // new part on the request path is added there, not by making the warm-up reach into Unicorn.Wsgi.
        var result = Types.InAssembly(Wsgi)
            .That().HaveName(nameof(Unicorn.Wsgi.Workers.JitWarmUp))
            .ShouldNot().HaveDependencyOnAny([.. Wsgi.GetTypes().Where(t => t.Name != nameof(Unicorn.Wsgi.Workers.JitWarmUp) && t.DeclaringType is null).Select(t => t.FullName!)])
            .GetResult();
        Assert.True(result.IsSuccessful, "JitWarmUp names a part of Unicorn.Wsgi: " + string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Fact]
    public void The_checks_see_the_parts_they_guard()
    {
        // A renamed namespace would make every rule above pass vacuously.
        string[] parts = ["Application", "Arbiter", "Config", "Connections", "Hooks", "Http", "Interop", "Logging", "ProcessContract", "Transport", "Uwsgi", "Workers", "Workers.Hosts"];
        var namespaces = Wsgi.GetTypes().Select(t => t.Namespace).OfType<string>().ToHashSet();
        Assert.All(parts, p => Assert.Contains(Root + p, namespaces));
        Assert.Contains(Wsgi.GetTypes(), t => t.Namespace == Root + "Interop" && t.GetMethods(BindingFlags.NonPublic | BindingFlags.Static).Any(m => m.Attributes.HasFlag(MethodAttributes.PinvokeImpl)));
    }
}
