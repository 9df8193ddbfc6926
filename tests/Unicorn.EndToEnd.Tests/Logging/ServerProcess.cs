using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>A server (gunicorn or unicorn) started on a free loopback port, stopped with SIGTERM.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    // Signalled at end of file on stdout and on stderr: after the exit, what the server wrote may still be in the pipes.
    private readonly CountdownEvent _streamsClosed = new(2);

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Port { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Unicorn.sln")) && File.Exists(Path.Combine(dir.FullName, "unicorn")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root (Unicorn.sln next to ./unicorn) not found above " + AppContext.BaseDirectory);
    }

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Starts <paramref name="executable"/> with <paramref name="arguments"/> plus <c>-b 127.0.0.1:PORT</c>
    /// in the repository root, and waits until the port accepts connections.</summary>
    public static ServerProcess Start(string executable, IEnumerable<string> arguments, TimeSpan bootTimeout)
    {
        var port = FreePort();
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = RepoRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add("-b");
        start.ArgumentList.Add($"127.0.0.1:{port}");
        start.Environment["UNICORN_PYTHON"] = Environment.GetEnvironmentVariable("UNICORN_PYTHON") ?? "/usr/bin/python3";
        var server = new ServerProcess(Process.Start(start)!, port);
        var deadline = DateTime.UtcNow + bootTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (server._process.HasExited)
            {
                server._streamsClosed.Wait(TimeSpan.FromSeconds(5));
                throw new InvalidOperationException($"{executable} exited with {server._process.ExitCode} during boot:\n{server.Output}");
            }

            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }

        server.Dispose();
        throw new TimeoutException($"{executable} did not listen on {port} within {bootTimeout}:\n{server.Output}");
    }

    /// <summary>Sends one raw request on its own connection and reads until the server closes it.</summary>
    public byte[] Send(byte[] request)
    {
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, Port);
        // The port accepts once the master listens: a first request waits for a worker's boot, which a loaded machine
        // (CI's other test processes) can stretch past 10 s.
        client.ReceiveTimeout = 60_000;
        var stream = client.GetStream();
        stream.Write(request);
        client.Client.Shutdown(SocketShutdown.Send);
        using var response = new MemoryStream();
        stream.CopyTo(response);
        return response.ToArray();
    }

    /// <summary>Sends a signal by name (TERM, USR1...) to the master.</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public void Stop()
    {
        if (!_process.HasExited)
        {
            Signal("TERM");
            if (!_process.WaitForExit(15_000))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }

        // WaitForExit(timeout) does not wait for the output readers: the last lines could reach Output after this
        // returned (a master that exits within milliseconds of its workers did). A child still holding the pipes
        // (none should) ends the wait at 5 s.
        _streamsClosed.Wait(TimeSpan.FromSeconds(5));
    }

    public void Dispose()
    {
        try
        {
            Stop();
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            _streamsClosed.Signal();
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
