using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Tls;

/// <summary>
/// Test certificates plus one TLS server (the Flask fixture, one sync worker, optional client certificates
/// checked against the test CA) shared by the tests of a class.
/// </summary>
public sealed class TlsServerFixture : IDisposable
{
    public TlsServerFixture()
    {
        Certificates = new TestCertificates();
        Port = UnicornServer.FreePort();
        Server = StartTls(Certificates, Port, "--cert-reqs", "1", "--ca-certs", Certificates.CaCert, "--do-handshake-on-connect", "--suppress-ragged-eofs");
    }

    public TestCertificates Certificates { get; }

    public UnicornServer Server { get; }

    public int Port { get; }

    public string Url(string path) => $"https://127.0.0.1:{Port}{path}";

    /// <summary>Starts pyfixtures.flask_deploy over TLS with the test server certificate and waits until it answers.</summary>
    public static UnicornServer StartTls(TestCertificates certs, int port, params string[] extra) => StartTls(certs, port, [], extra);

    /// <summary>As <see cref="StartTls(TestCertificates, int, string[])"/> with <c>--cert-reqs 2</c>; the readiness probe presents the client certificate.</summary>
    public static UnicornServer StartTlsRequiringClientCert(TestCertificates certs, int port) =>
        StartTls(certs, port, ["--cert", certs.ClientCert, "--key", certs.ClientKey], ["--cert-reqs", "2", "--ca-certs", certs.CaCert]);

    private static UnicornServer StartTls(TestCertificates certs, int port, string[] probeArgs, string[] extra)
    {
        var server = UnicornServer.Start(
        [
            "pyfixtures.flask_deploy:app", "-b", $"127.0.0.1:{port}",
            "--certfile", certs.ServerCert, "--keyfile", certs.ServerKey, .. extra,
        ]);
        var ready = UnicornServer.Poll(
            () => ExternalTool.Run("curl", ["-sk", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", .. probeArgs, $"https://127.0.0.1:{port}/json"]).Stdout == "200"
                || server.HasExited,
            60);
        if (!ready || server.HasExited)
        {
            var log = server.Log;
            server.Dispose();
            throw new InvalidOperationException("the TLS server did not start; log:\n" + log);
        }

        return server;
    }

    /// <summary>A server refused at start-up: it exits 1 with one <c>unicorn:</c> line, returned, and no .NET stack trace.</summary>
    public static string TheOneErrorLine(UnicornServer server)
    {
        Assert.Equal(1, server.WaitForExit(60));
        // stderr is read asynchronously: the line may land just after the exit is seen.
        UnicornServer.Poll(() => server.Lines.Any(l => l.StartsWith("unicorn:", StringComparison.Ordinal)), 10);
        var errorLines = server.Lines.Where(l => l.StartsWith("unicorn:", StringComparison.Ordinal)).ToList();
        Assert.True(errorLines.Count == 1, server.Log);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
        return errorLines[0];
    }

    public void Dispose()
    {
        Server.Dispose();
        Certificates.Dispose();
    }
}
