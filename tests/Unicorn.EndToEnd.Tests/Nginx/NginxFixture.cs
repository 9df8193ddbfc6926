using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Nginx;

/// <summary>
/// nginx with the configuration Gunicorn's deployment docs give, terminating TLS in front of two Unicorns: one
/// listening on a unix socket and on TCP with <c>--forwarded-allow-ips 10.9.9.9</c> (nginx's TCP address is not
/// trusted, a unix-socket peer always is), and one on TCP with the default list (127.0.0.1 trusted).
/// </summary>
public sealed class NginxFixture : IDisposable
{
    private const string Proxy = """
                proxy_set_header Host $http_host;
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                proxy_set_header X-Forwarded-Proto $scheme;
                proxy_http_version 1.1;
                proxy_set_header Connection "";
                proxy_redirect off;
        """;

    public NginxFixture()
    {
        Certificates = new TestCertificates();
        var socket = Certificates.Path("unicorn.sock");
        var untrustedPort = UnicornServer.FreePort();
        var trustedPort = UnicornServer.FreePort();
        try
        {
            Untrusting = UnicornServer.Start("pyfixtures.flask_deploy:app", "-b", $"unix:{socket}", "-b", $"127.0.0.1:{untrustedPort}",
                "-k", "gthread", "--threads", "4", "--keep-alive", "30", "--forwarded-allow-ips", "10.9.9.9");
            Trusting = UnicornServer.Start("pyfixtures.flask_deploy:app", "-b", $"127.0.0.1:{trustedPort}", "--keep-alive", "30");
            Untrusting.WaitUntilResponding(untrustedPort, "/json");
            Trusting.WaitUntilResponding(trustedPort, "/json");
            Nginx = new NginxProcess(Certificates.Directory, $$"""
                    upstream unicorn_unix { server unix:{{socket}} fail_timeout=0; keepalive 8; keepalive_timeout 20s; }
                    upstream unicorn_tcp { server 127.0.0.1:{{untrustedPort}} fail_timeout=0; keepalive 8; keepalive_timeout 20s; }
                    upstream unicorn_trusted { server 127.0.0.1:{{trustedPort}} fail_timeout=0; keepalive 8; keepalive_timeout 20s; }
                    server {
                        listen 127.0.0.1:$PORT ssl;
                        server_name localhost;
                        ssl_certificate {{Certificates.ServerCert}};
                        ssl_certificate_key {{Certificates.ServerKey}};
                        location = / { return 204; }
                        location /unix/ {
                            proxy_pass http://unicorn_unix/;
                {{Proxy}}
                        }
                        location /tcp/ {
                            proxy_pass http://unicorn_tcp/;
                {{Proxy}}
                        }
                        location /trusted/ {
                            proxy_pass http://unicorn_trusted/;
                {{Proxy}}
                        }
                    }
                """);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestCertificates Certificates { get; }

    public UnicornServer? Untrusting { get; }

    public UnicornServer? Trusting { get; }

    public NginxProcess? Nginx { get; }

    public void Dispose()
    {
        Nginx?.Dispose();
        Untrusting?.Dispose();
        Trusting?.Dispose();
        Certificates.Dispose();
    }
}
