using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Frameworks;

/// <summary>
/// pyfixtures/djangoproj (made by <c>django-admin startproject djangoproj</c>) served as Gunicorn users serve it:
/// <c>unicorn djangoproj.wsgi --chdir pyfixtures/djangoproj --env DJANGO_SETTINGS_MODULE=djangoproj.settings</c>.
/// </summary>
public sealed class DjangoServerFixture : IDisposable
{
    public DjangoServerFixture()
    {
        Port = UnicornServer.FreePort();
        Server = UnicornServer.Start(
            "djangoproj.wsgi", "--chdir", "pyfixtures/djangoproj", "--env", "DJANGO_SETTINGS_MODULE=djangoproj.settings",
            "-b", $"127.0.0.1:{Port}", "-k", "gthread", "--threads", "2");
        Server.WaitUntilResponding(Port, "/admin/login/");
    }

    public int Port { get; }

    public UnicornServer Server { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public void Dispose() => Server.Dispose();
}
