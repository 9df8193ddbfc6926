using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>pyfixtures/asgi/ws_app.py under -k asgi with small websocket limits, so the hostile cases reach them quickly.</summary>
public sealed class WebSocketServerFixture : IDisposable
{
    public WebSocketServerFixture()
    {
        Port = UnicornServer.FreePort();
        Server = UnicornServer.Start(
            "ws_app:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "--ws-max-size", "1048576", "--ws-ping-interval", "2",
            "--ws-ping-timeout", "2", "--access-logfile", "-", "-b", $"127.0.0.1:{Port}");
        Server.WaitUntilResponding(Port, "/");
    }

    public int Port { get; }

    public UnicornServer Server { get; }

    public void Dispose() => Server.Dispose();
}
