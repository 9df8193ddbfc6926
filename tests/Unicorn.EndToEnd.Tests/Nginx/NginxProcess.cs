using System.Diagnostics;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Nginx;

/// <summary>
/// nginx (apt) run by a test: its own config, pid, logs and temp paths in a directory of its own, in the
/// foreground as one process (the server block should answer <c>GET /</c>: that is the readiness probe) (<c>daemon off; master_process off;</c>), killed and waited for on dispose.
/// </summary>
public sealed class NginxProcess : IDisposable
{
    private readonly Process _process;

    public NginxProcess(string directory, string httpBlock)
    {
        Directory = directory;
        Port = UnicornServer.FreePort();
        var config = Path.Combine(directory, "nginx.conf");
        File.WriteAllText(config, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log info;
            events { worker_connections 64; }
            http {
                access_log {{directory}}/access.log;
                client_body_temp_path {{directory}}/client_body;
                proxy_temp_path {{directory}}/proxy;
                fastcgi_temp_path {{directory}}/fastcgi;
                uwsgi_temp_path {{directory}}/uwsgi;
                scgi_temp_path {{directory}}/scgi;
            {{httpBlock.Replace("$PORT", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)}}
            }
            """);
        var info = new ProcessStartInfo("/usr/sbin/nginx")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var arg in new[] { "-p", directory, "-e", Path.Combine(directory, "error.log"), "-c", config })
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("cannot start nginx");
        var up = UnicornServer.Poll(() => _process.HasExited || ExternalTool.Run("curl", ["-sk", "--max-time", "2", "-o", "/dev/null", $"https://127.0.0.1:{Port}/"]).ExitCode == 0, 20);
        if (!up || _process.HasExited)
        {
            var log = ErrorLog;
            Dispose();
            throw new InvalidOperationException("nginx did not start; error.log:\n" + log);
        }
    }

    public string Directory { get; }

    public int Port { get; }

    public string ErrorLog => File.Exists(Path.Combine(Directory, "error.log")) ? File.ReadAllText(Path.Combine(Directory, "error.log")) : "";

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }
}
