using System.Diagnostics;

namespace Unicorn.EndToEnd.Tests.Arbiter;

public sealed partial class UnicornServer
{
    /// <summary>
    /// Runs any program (an installed <c>unicorn</c>, or one that starts it) with the log captured like
    /// <see cref="Start(string[])"/>. A null value in <paramref name="env"/> removes that variable.
    /// </summary>
    public static UnicornServer StartProgram(string program, string workingDirectory, IDictionary<string, string?> env, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(env);
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in env)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var server = new UnicornServer(process);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                server._stderrClosed.TrySetResult();
            }

            server.OnLine(e.Data);
        };
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.Exited += (_, _) => server._exited.TrySetResult();
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return server;
    }
}
