using Unicorn.PythonBridge.Asgi;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge;

/// <summary>
/// The app a worker imported, in the forms the worker classes' hosts take. Every form starts from the same
/// imported app object (<see cref="App"/>); the WSGI form is wrapped in the config file's request hooks
/// when it has any, and the ASGI and greenlet forms run them themselves (<see cref="AsgiHooks"/>,
/// <see cref="GreenletHooks"/>). A host that runs the app differently (greenlets, an event loop) adds its form here.
/// </summary>
public sealed class PythonLoadedApp(PythonWsgiApplication app, IWsgiApplication wsgi) : ILoadedApp
{
    /// <summary>The imported app object and the interpreter it lives in.</summary>
    public PythonWsgiApplication App { get; } = app ?? throw new ArgumentNullException(nameof(app));

    public IWsgiApplication Wsgi { get; } = wsgi ?? throw new ArgumentNullException(nameof(wsgi));

    /// <summary>The request hooks and --spew for the ASGI form, run on its loop; null when the config asks for neither.</summary>
    public AsgiRequestHooks? AsgiHooks { get; init; }

    public IAsgiApplication Asgi => field ??= new PythonAsgiApplication(App, AsgiHooks);

    /// <summary>The request hooks and --spew for the greenlet form; null when the config asks for neither.</summary>
    public GreenletRequestHooks? GreenletHooks { get; init; }

    public IGreenletApplication Greenlets => field ??= new PythonGreenletApplication(App, GreenletHooks);
}
