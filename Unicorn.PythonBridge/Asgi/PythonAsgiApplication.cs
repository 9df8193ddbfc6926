using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge.Asgi;

/// <summary>The imported app called as ASGI 3 on an event loop of its own (the asgi worker class).</summary>
public sealed class PythonAsgiApplication(PythonWsgiApplication app, AsgiRequestHooks? hooks = null) : IAsgiApplication
{
    public IAsgiLoop Start(AsgiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return PythonAsgiLoop.Start(app, options, hooks);
    }
}
