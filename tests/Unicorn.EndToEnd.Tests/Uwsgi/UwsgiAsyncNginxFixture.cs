using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Nginx;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Uwsgi;

/// <summary>
/// nginx's <c>uwsgi_pass</c> (stock <c>uwsgi_params</c>) to one Unicorn per async worker class with
/// <c>--protocol uwsgi --uwsgi-allow-from 127.0.0.2</c>: <c>/CLASS/</c> reaches it from 127.0.0.2
/// (<c>uwsgi_bind</c>), <c>/refused-CLASS/</c> from nginx's default 127.0.0.1, which the server refuses.
/// </summary>
public sealed class UwsgiAsyncNginxFixture : IDisposable
{
    /// <summary>Allowed source address: loopback, but not the 127.0.0.1 nginx uses by default.</summary>
    public const string AllowedPeer = "127.0.0.2";

    public static readonly string[] Classes = ["gevent", "eventlet", "tornado", "asgi"];

    private readonly Dictionary<string, UnicornServer> _servers = [];

    public UwsgiAsyncNginxFixture()
    {
        Certificates = new TestCertificates();
        try
        {
            var upstreams = new System.Text.StringBuilder();
            var locations = new System.Text.StringBuilder();
            foreach (var workerClass in Classes)
            {
                var port = UnicornServer.FreePort();
                Ports[workerClass] = port;
                var app = workerClass switch
                {
                    "tornado" => "pyfixtures.uwsgi_async_apps:tornado_app",
                    "asgi" => "pyfixtures.uwsgi_async_apps:asgi_app",
                    _ => "pyfixtures.uwsgi_async_apps:wsgi_app",
                };
                _servers[workerClass] = UnicornServer.Start(app, "-k", workerClass, "--protocol", "uwsgi", "-b", $"127.0.0.1:{port}",
                    "--uwsgi-allow-from", AllowedPeer, "--access-logfile", "-");
                upstreams.Append($"upstream uwsgi_{workerClass} {{ server 127.0.0.1:{port} fail_timeout=0; }}\n");
                locations.Append($"location /{workerClass}/ {{ include /etc/nginx/uwsgi_params; uwsgi_bind {AllowedPeer}; uwsgi_pass uwsgi_{workerClass}; }}\n");
                locations.Append($"location /refused-{workerClass}/ {{ include /etc/nginx/uwsgi_params; uwsgi_pass uwsgi_{workerClass}; }}\n");
            }

            foreach (var server in _servers.Values)
            {
                server.WaitForLog("Booting worker with pid", seconds: 90);
            }

            Nginx = new NginxProcess(Certificates.Directory, $$"""
                    {{upstreams}}
                    server {
                        listen 127.0.0.1:$PORT ssl;
                        server_name localhost;
                        ssl_certificate {{Certificates.ServerCert}};
                        ssl_certificate_key {{Certificates.ServerKey}};
                        client_max_body_size 8m;
                        location = / { return 204; }
                        {{locations}}
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

    public NginxProcess? Nginx { get; }

    public Dictionary<string, int> Ports { get; } = [];

    public UnicornServer Server(string workerClass) => _servers[workerClass];

    public void Dispose()
    {
        Nginx?.Dispose();
        foreach (var server in _servers.Values)
        {
            server.Dispose();
        }

        Certificates.Dispose();
    }
}
