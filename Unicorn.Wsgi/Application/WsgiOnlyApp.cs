namespace Unicorn.Wsgi.Application;

/// <summary>An app that exists only as WSGI threads: a test's fake, or an embedder's <see cref="IWsgiApplication"/>.</summary>
public sealed class WsgiOnlyApp(IWsgiApplication wsgi) : ILoadedApp
{
    public IWsgiApplication Wsgi { get; } = wsgi ?? throw new ArgumentNullException(nameof(wsgi));

    public IAsgiApplication Asgi => throw new NotSupportedException("this app is served as WSGI only");
    public IGreenletApplication Greenlets => throw new NotSupportedException("this app runs only on WSGI threads");
}
