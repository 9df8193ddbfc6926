using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Http2;

/// <summary>One TLS server offering h2 then h1 (gthread, 4 threads, access log on stdout) shared by a test class.</summary>
public sealed class Http2ServerFixture : IDisposable
{
    public Http2ServerFixture()
    {
        Certificates = new TestCertificates();
        Port = UnicornServer.FreePort();
        Server = Start(Certificates, Port, "--http-protocols", "h2,h1", "-k", "gthread", "--threads", "4", "--access-logfile", "-");
    }

    public TestCertificates Certificates { get; }

    public UnicornServer Server { get; }

    public int Port { get; }

    public string Url(string path) => $"https://127.0.0.1:{Port}{path}";

    /// <summary>
    /// Runs h2_hostile.py (HTTP/2 clients written with python3-h2: floods, stalled readers, streamed reads) against
    /// <paramref name="port"/>: its first argument names the scenario, the rest are the scenario's.
    /// </summary>
    internal static ExternalTool.Result Hostile(int port, double timeoutSeconds, params string[] scenario) =>
        ExternalTool.Run(
            "/usr/bin/python3",
            [Path.Combine(UnicornServer.RepoRoot, "tests", "Unicorn.EndToEnd.Tests", "Http2", "h2_hostile.py"),
             port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. scenario],
            timeoutSeconds: timeoutSeconds);

    /// <summary>Starts pyfixtures.http2_app over TLS and waits until it answers.</summary>
    public static UnicornServer Start(TestCertificates certs, int port, params string[] extra) => Start(certs, port, null, extra);

    public static UnicornServer Start(TestCertificates certs, int port, IDictionary<string, string>? env, params string[] extra)
    {
        var server = UnicornServer.Start(env,
        [
            "pyfixtures.http2_app:app", "-b", $"127.0.0.1:{port}", "--certfile", certs.ServerCert, "--keyfile", certs.ServerKey, .. extra,
        ]);
        var ready = UnicornServer.Poll(
            () => ExternalTool.Run("curl", ["-sk", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", $"https://127.0.0.1:{port}/"]).Stdout == "200"
                || server.HasExited,
            90);
        if (!ready || server.HasExited)
        {
            var log = server.Log;
            server.Dispose();
            throw new InvalidOperationException("the HTTP/2 server did not start; log:\n" + log);
        }

        return server;
    }

    public void Dispose()
    {
        Server.Dispose();
        Certificates.Dispose();
    }
}
