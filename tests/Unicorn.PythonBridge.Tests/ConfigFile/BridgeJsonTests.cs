using System.Net;
using System.Text.Json;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.PythonBridge.Logging;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.Tests.ConfigFile;

/// <summary>
/// The bridge writes the hooks' and the logger class's JSON by hand (the native build has no reflection serializer):
/// byte for byte what reflection-based <c>JsonSerializer.Serialize</c> wrote of the same shapes (escaping included),
/// since HookScript and the logging module parse it.
/// </summary>
public sealed class BridgeJsonTests
{
    private const string Awkward = "é<>&'\"\\\u2028/ü\u0001";

    public static TheoryData<HookWorker> Workers() =>
    [
        new HookWorker(200, 1, true, 100),
        new HookWorker(0, 7, false, 100, 3) { Requests = 12, MaxRequests = 1000, Sockets = [3, 4], TmpFd = 9 },
        new HookWorker(-1, 0, true, 0, null) { Sockets = [] },
    ];

    [Theory]
    [MemberData(nameof(Workers))]
    public void A_worker_snapshot_is_what_the_serializer_wrote(HookWorker worker)
    {
        Assert.Equal(JsonSerializer.Serialize(HookShapes.WorkerSnapshot(worker)), PythonServerHooks.WorkerSnapshotJson(worker));
    }

    [Fact]
    public void Hook_arguments_are_what_the_serializer_wrote()
    {
        var server = new HookServer(100, 2, SettingsResolver.Resolve(["app:app"], new Dictionary<string, string?>(), new ConfigScriptRunner(), Path.GetTempPath()));
        var worker = new HookWorker(200, 1, true, 100, 0) { Sockets = [5] };
        Assert.Equal(JsonSerializer.Serialize(new[] { HookShapes.Server(server) }), PythonServerHooks.ArgsJson(server, null));
        Assert.Equal(JsonSerializer.Serialize(new[] { HookShapes.Worker(worker) }), PythonServerHooks.ArgsJson(null, worker));
        Assert.Equal(JsonSerializer.Serialize(new[] { HookShapes.Server(server), HookShapes.Worker(worker) }), PythonServerHooks.ArgsJson(server, worker));
        Assert.Equal(JsonSerializer.Serialize(new[] { HookShapes.Server(server), HookShapes.Value(3), HookShapes.Value(null) }),
            PythonServerHooks.ArgsJson(server, null, (3, null)));
        Assert.Equal(JsonSerializer.Serialize(new[] { HookShapes.Server(server), HookShapes.Value(3), HookShapes.Value(2) }),
            PythonServerHooks.ArgsJson(server, null, (3, 2)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_request_snapshot_and_response_are_what_the_serializer_wrote(bool peer)
    {
        var request = new WsgiRequest
        {
            Method = "POST",
            RawUri = "/a%20b?x=" + Awkward,
            Path = "/a b" + Awkward,
            Query = "x=" + Awkward,
            Protocol = "HTTP/1.0",
            VersionMinor = 0,
            Headers = [new("Host", "h"), new("X-Odd", Awkward)],
            Body = RequestBody.Empty,
            ServerName = "h",
            ServerPort = "80",
            RemoteEndPoint = peer ? new IPEndPoint(IPAddress.IPv6Loopback, 5555) : null,
        };
        Assert.Equal(JsonSerializer.Serialize(HookShapes.RequestSnapshot(request)), PythonServerHooks.RequestSnapshotJson(request));

        IReadOnlyList<KeyValuePair<string, string>> headers = [new("X-A", Awkward), new("Set-Cookie", "a=b")];
        Assert.Equal(JsonSerializer.Serialize(new { status = "201 Créé", headers = headers.Select(h => new[] { h.Key, h.Value }), sent = 12L }),
            PythonServerHooks.ResponseJson("201 Créé", null, headers, 12));
        Assert.Equal(JsonSerializer.Serialize(new { status = 404, headers = headers.Select(h => new[] { h.Key, h.Value }), sent = -1L }),
            PythonServerHooks.ResponseJson(null, 404, headers, -1));
    }

    [Fact]
    public void The_master_state_is_what_the_serializer_wrote()
    {
        var state = new HookMasterState(3, [new HookWorker(1, 1, true, 100), new HookWorker(2, 2, false, 100, 1) { Sockets = [3] }],
            [new HookListener(3, "http://127.0.0.1:8000"), new HookListener(4, "unix:/tmp/" + Awkward)], null);
        var expected = JsonSerializer.Serialize(new
        {
            num_workers = state.NumWorkers,
            workers = state.Workers.Select(HookShapes.WorkerSnapshot),
            listeners = state.Listeners.Select(l => new { fd = l.Fd, name = l.Name }),
            proc_name = state.ProcName,
        });
        Assert.Equal(expected, PythonServerHooks.MasterStateJson(state));
        Assert.Equal(expected.Replace("\"proc_name\":null", "\"proc_name\":\"app:app.2\"", StringComparison.Ordinal),
            PythonServerHooks.MasterStateJson(state with { ProcName = "app:app.2" }));
    }

    [Theory]
    [InlineData("HTTP/1.1", "10.0.0.1", 1234L, true)]
    [InlineData("HTTP/2", "", null, false)]
    [InlineData("HTTP/1.0", null, 0L, true)]
    public void An_access_record_is_what_the_serializer_wrote(string protocol, string? address, long? sent, bool environ)
    {
        var entry = new AccessLogEntry
        {
            Method = "GET",
            RawUri = "/p" + Awkward + "?q=1#f",
            Path = "/p",
            Query = "q=1",
            Protocol = protocol,
            RemoteAddress = address,
            Status = "200 OK",
            ResponseLength = sent,
            RequestHeaders = [new("Host", "h"), new("X", Awkward)],
            ResponseHeaders = [new("Content-Type", "text/plain")],
            Environ = environ ? () => new Dictionary<string, string> { ["REMOTE_PORT"] = "4321", ["wsgi.url_scheme"] = "https", ["X" + Awkward] = Awkward } : null,
            Duration = TimeSpan.FromMilliseconds(12.3456),
        };
        Assert.Equal(OldAccessRecordJson(entry), PythonLogging.AccessRecordJson(entry));
    }

    // What PythonLogging serialised by reflection.
    private static string OldAccessRecordJson(AccessLogEntry entry)
    {
        var environ = entry.Environ?.Invoke() ?? new Dictionary<string, string>();
        var uri = entry.RawUri;
        var end = uri.IndexOfAny(['?', '#']);
        var version = entry.Protocol.StartsWith("HTTP/", StringComparison.Ordinal) && entry.Protocol.Length == 8
            ? new[] { entry.Protocol[5] - '0', entry.Protocol[7] - '0' }
            : [1, 1];
        object? peer = entry.RemoteAddress is { Length: > 0 } address
            ? new object[] { address, int.TryParse(environ.GetValueOrDefault("REMOTE_PORT"), out var port) ? port : 0 }
            : null;
        return JsonSerializer.Serialize(new
        {
            us = (long)entry.Duration.TotalMicroseconds,
            environ,
            req = new
            {
                method = entry.Method,
                uri,
                path = end < 0 ? uri : uri[..end],
                query = entry.Query,
                version,
                headers = entry.RequestHeaders.Select(h => new[] { h.Key, h.Value }),
                scheme = environ.GetValueOrDefault("wsgi.url_scheme", "http"),
                peer,
            },
            resp = new
            {
                status = entry.Status,
                headers = entry.ResponseHeaders.Select(h => new[] { h.Key, h.Value }),
                sent = entry.ResponseLength,
            },
        });
    }
}
