using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Frameworks;

/// <summary>The seed's drop-in case: a startproject Django site, its admin, CSRF, uploads and a broken settings module.</summary>
public sealed partial class DjangoTests(DjangoServerFixture fixture) : IClassFixture<DjangoServerFixture>
{
    [GeneratedRegex("name=\"csrfmiddlewaretoken\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    private HttpClient Client(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = fixture.BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    [Fact]
    public async Task The_admin_login_page_renders_with_a_csrf_token_and_cookie()
    {
        var cookies = new CookieContainer();
        using var client = Client(cookies);
        using var response = await client.GetAsync("admin/login/");
        var html = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Django administration", html, StringComparison.Ordinal);
        Assert.Matches(CsrfField(), html);
        Assert.NotNull(cookies.GetCookies(fixture.BaseAddress)["csrftoken"]);
    }

    [Fact]
    public async Task A_static_url_is_a_404_with_debug_off()
    {
        using var client = Client();
        using var response = await client.GetAsync("static/admin/css/base.css");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_form_post_with_the_csrf_cookie_and_token_succeeds_and_without_them_is_403()
    {
        var cookies = new CookieContainer();
        using var client = Client(cookies);
        var page = await client.GetStringAsync("form/");
        var token = CsrfField().Match(page).Groups[1].Value;

        using var form = new FormUrlEncodedContent([new("csrfmiddlewaretoken", token), new("name", "unicorn")]);
        using var ok = await client.PostAsync("form/", form);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("hello unicorn", await ok.Content.ReadAsStringAsync());

        using var stranger = Client();
        using var bare = new FormUrlEncodedContent([new("name", "unicorn")]);
        using var forbidden = await stranger.PostAsync("form/", bare);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);

        // The cookie alone is not enough either.
        using var noToken = new FormUrlEncodedContent([new("name", "unicorn")]);
        using var stillForbidden = await client.PostAsync("form/", noToken);
        Assert.Equal(HttpStatusCode.Forbidden, stillForbidden.StatusCode);
    }

    [Theory]
    [InlineData(10_000)]
    [InlineData(1_500_000)] // larger than the 1 MiB Unicorn buffers: wsgi.input streams
    public async Task A_file_upload_arrives_in_request_files_intact(int size)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        using var client = Client();
        using var content = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Add(file, "upload", "data.bin");
        content.Add(new StringContent("a note"), "note");
        using var response = await client.PostAsync("upload/", content);
        var json = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, json);
        using var doc = JsonDocument.Parse(json);
        var uploaded = doc.RootElement.GetProperty("files").GetProperty("upload");
        Assert.Equal("data.bin", uploaded.GetProperty("name").GetString());
        Assert.Equal(size, uploaded.GetProperty("size").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), uploaded.GetProperty("sha256").GetString());
        Assert.Equal("a note", doc.RootElement.GetProperty("note").GetString());
    }

    [Fact]
    public async Task An_upload_the_client_abandons_halfway_is_dropped_when_buffered_and_an_UnreadablePostError_when_streamed()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
            "djangoproj.wsgi", "--chdir", "pyfixtures/djangoproj", "--env", "DJANGO_SETTINGS_MODULE=djangoproj.settings",
            "-b", $"127.0.0.1:{port}", "-k", "sync", "-w", "1", "--access-logfile", "-");
        server.WaitUntilResponding(port, "/admin/login/");

        // Half of each body, then the client closes. One worker serves them in turn, so the request after
        // them has its access line only once both were handled.
        await SendHalfAnUpload(port, 500_000); // read before Django is called: never reaches it
        await SendHalfAnUpload(port, 1_500_000); // streams: Django's read fails and it answers 500
        using var client = Client();
        client.BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        using var after = await client.GetAsync("form/");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        server.WaitForLog("\"GET /form/ HTTP/1.1\" 200");

        Assert.Equal(1, server.Count("\"POST /upload/ HTTP/1.1\""));
        Assert.Equal(1, server.Count("\"POST /upload/ HTTP/1.1\" 500"));
    }

    private static async Task SendHalfAnUpload(int port, int size)
    {
        const string Boundary = "halfway";
        var body = new byte[size];
        var head = "POST /upload/ HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                   $"Content-Type: multipart/form-data; boundary={Boundary}\r\nContent-Length: {size}\r\n\r\n" +
                   $"--{Boundary}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.bin\"\r\n\r\n";
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var stream = socket.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body.AsMemory(0, size / 2));
    }

    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    [InlineData("gevent")]
    public void A_FileResponse_the_client_leaves_early_logs_the_bytes_sent_not_the_file_size(string workerClass)
    {
        const int Size = 32 << 20;
        var path = Path.Combine(Path.GetTempPath(), $"unicorn-django-download-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, new byte[Size]);
        try
        {
            var port = UnicornServer.FreePort();
            using var server = UnicornServer.Start(
                "djangoproj.wsgi", "--chdir", "pyfixtures/djangoproj", "--env", "DJANGO_SETTINGS_MODULE=djangoproj.settings",
                "-b", $"127.0.0.1:{port}", "-k", workerClass, "-w", "1", "--access-logfile", "-");
            server.WaitUntilResponding(port, "/admin/login/");

            // A small receive window, 1 MB read, then the client leaves: at most a few MB can have gone out.
            using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
            {
                socket.ReceiveBufferSize = 64 << 10;
                socket.Connect(IPAddress.Loopback, port);
                socket.Send(System.Text.Encoding.ASCII.GetBytes($"GET /download/?path={Uri.EscapeDataString(path)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
                var buffer = new byte[64 << 10];
                for (var read = 0; read < 1_000_000;)
                {
                    var n = socket.Receive(buffer);
                    Assert.True(n > 0, "the server closed before 1 MB");
                    read += n;
                }
            }

            server.WaitForLog("\"GET /download/");
            var line = server.Lines.Single(l => l.Contains("\"GET /download/", StringComparison.Ordinal));
            var bytes = long.Parse(Regex.Match(line, "\" 200 (\\d+) ").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(bytes, 1_000_000, Size - 1);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ImproperlyConfigured_is_logged_with_its_message_and_the_master_exits_3_as_gunicorn_does()
    {
        const string Line = "django.core.exceptions.ImproperlyConfigured: The SECRET_KEY setting must not be empty.";
        var project = Path.Combine(UnicornServer.RepoRoot, "pyfixtures", "djangoproj");

        // Gunicorn 20.1 from apt, same project, same error: the reference behaviour.
        var gunicorn = ExternalTool.Run("/usr/bin/gunicorn", ["djangoproj.wsgi", "--env", "DJANGO_SETTINGS_MODULE=djangoproj.settings_broken",
            "-b", $"127.0.0.1:{UnicornServer.FreePort()}"], timeoutSeconds: 60, workingDirectory: project);
        Assert.Contains(Line, gunicorn.All, StringComparison.Ordinal);
        Assert.Contains("Reason: Worker failed to boot.", gunicorn.All, StringComparison.Ordinal);

        using var server = UnicornServer.Start("djangoproj.wsgi", "--chdir", "pyfixtures/djangoproj",
            "--env", "DJANGO_SETTINGS_MODULE=djangoproj.settings_broken", "-b", $"127.0.0.1:{UnicornServer.FreePort()}");
        var code = server.WaitForExit(60);
        Assert.Equal(gunicorn.ExitCode, code);
        Assert.Equal(3, code);
        UnicornServer.Poll(() => server.Count("Reason: Worker failed to boot.") > 0, 10);
        Assert.Contains(Line, server.Log, StringComparison.Ordinal);
        Assert.Contains("Reason: Worker failed to boot.", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at Unicorn.", server.Log, StringComparison.Ordinal);
    }
}
