using System.Diagnostics;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>pyfixtures/asgi/ws_client.py (python3-websockets) running one scenario against a port; its output lines.</summary>
public sealed class WebSocketClient : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<string> _errors = [];

    private WebSocketClient(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Add(_lines, e.Data);
        _process.ErrorDataReceived += (_, e) => Add(_errors, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static WebSocketClient Start(int port, string scenario, IDictionary<string, string>? env = null)
    {
        var info = new ProcessStartInfo("/usr/bin/python3", [Path.Combine(UnicornServer.RepoRoot, "pyfixtures", "asgi", "ws_client.py"), $"{port}", scenario])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return new WebSocketClient(Process.Start(info)!);
    }

    /// <summary>Runs a scenario to its end and returns its lines; fails with the client's stderr when it did not succeed.</summary>
    public static List<string> Run(int port, string scenario, double seconds = 120)
    {
        using var client = Start(port, scenario);
        client.WaitForExit(seconds);
        return client.Lines;
    }

    public List<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public void WaitForLine(string line, double seconds = 120) =>
        Assert.True(UnicornServer.Poll(() => Lines.Contains(line), seconds), $"no line '{line}' from ws_client; got: {string.Join(" | ", Lines)} {Errors}");

    public void Continue() => _process.StandardInput.WriteLine();

    public void WaitForExit(double seconds)
    {
        Assert.True(_process.WaitForExit(TimeSpan.FromSeconds(seconds)), $"ws_client did not finish; got: {string.Join(" | ", Lines)}");
        _process.WaitForExit();
        Assert.True(_process.ExitCode == 0, $"ws_client failed ({_process.ExitCode}): {string.Join(" | ", Lines)} {Errors}");
    }

    private string Errors
    {
        get
        {
            lock (_errors)
            {
                return string.Join('\n', _errors);
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private static void Add(List<string> lines, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (lines)
        {
            lines.Add(line);
        }
    }
}
