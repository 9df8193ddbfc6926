using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>
/// FastAPI's tutorial app (pyfixtures/asgi/main.py) started the way its users start it under Gunicorn, with
/// uvicorn's worker class path (uvicorn itself is not needed): <c>unicorn -k uvicorn.workers.UvicornWorker main:app</c>.
/// </summary>
public sealed class FastApiServerFixture : IDisposable
{
    public FastApiServerFixture()
    {
        Port = UnicornServer.FreePort();
        Server = UnicornServer.Start(
            "main:app", "--chdir", "pyfixtures/asgi", "-k", "uvicorn.workers.UvicornWorker", "--root-path", "/api",
            "--access-logfile", "-", "-b", $"127.0.0.1:{Port}");
        Server.WaitUntilResponding(Port, "/");
    }

    public int Port { get; }

    public UnicornServer Server { get; }

    public void Dispose() => Server.Dispose();
}
