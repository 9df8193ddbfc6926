using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Nginx;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Uwsgi;

/// <summary>
/// nginx passing requests with <c>uwsgi_pass</c> and the stock <c>uwsgi_params</c> to three Unicorns with
/// <c>--protocol uwsgi</c>: sync on TCP, gthread on a unix socket, and one on TCP whose
/// <c>--uwsgi-allow-from</c> leaves nginx out.
/// </summary>
public sealed class UwsgiNginxFixture : IDisposable
{
    public UwsgiNginxFixture()
    {
        Certificates = new TestCertificates();
        var socket = Certificates.Path("uwsgi.sock");
        var tcpPort = UnicornServer.FreePort();
        var refusingPort = UnicornServer.FreePort();
        try
        {
            Sync = UnicornServer.Start("pyfixtures.uwsgi_app:app", "--protocol", "uwsgi", "-b", $"127.0.0.1:{tcpPort}", "--access-logfile", "-");
            Threaded = UnicornServer.Start("pyfixtures.uwsgi_app:app", "--protocol", "uwsgi", "-b", $"unix:{socket}", "-k", "gthread", "--threads", "4");
            Refusing = UnicornServer.Start("pyfixtures.uwsgi_app:app", "--protocol", "uwsgi", "-b", $"127.0.0.1:{refusingPort}", "--uwsgi-allow-from", "10.9.9.9");
            foreach (var server in new[] { Sync, Threaded, Refusing })
            {
                server.WaitForLog("Booting worker with pid", seconds: 90);
            }

            Nginx = new NginxProcess(Certificates.Directory, $$"""
                    upstream uwsgi_tcp { server 127.0.0.1:{{tcpPort}} fail_timeout=0; }
                    upstream uwsgi_unix { server unix:{{socket}} fail_timeout=0; }
                    upstream uwsgi_refusing { server 127.0.0.1:{{refusingPort}} fail_timeout=0; }
                    server {
                        listen 127.0.0.1:$PORT ssl;
                        server_name localhost;
                        ssl_certificate {{Certificates.ServerCert}};
                        ssl_certificate_key {{Certificates.ServerKey}};
                        client_max_body_size 8m;
                        location = / { return 204; }
                        location /tcp/ { include /etc/nginx/uwsgi_params; uwsgi_pass uwsgi_tcp; }
                        location /unix/ { include /etc/nginx/uwsgi_params; uwsgi_pass uwsgi_unix; }
                        location /refusing/ { include /etc/nginx/uwsgi_params; uwsgi_pass uwsgi_refusing; }
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

    public UnicornServer? Sync { get; }

    public UnicornServer? Threaded { get; }

    public UnicornServer? Refusing { get; }

    public NginxProcess? Nginx { get; }

    public void Dispose()
    {
        Nginx?.Dispose();
        Sync?.Dispose();
        Threaded?.Dispose();
        Refusing?.Dispose();
        Certificates.Dispose();
    }
}
