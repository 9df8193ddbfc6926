using System.Diagnostics;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Frameworks;

/// <summary>
/// strace attached to a worker, recording its sendfile(2) calls while a test makes requests: the proof that a
/// file_wrapper body went out with sendfile (plain HTTP) or did not (TLS).
/// </summary>
internal sealed class SendfileTrace : IDisposable
{
    private readonly Process _strace;
    private readonly string _output = Path.Combine(Path.GetTempPath(), $"unicorn-strace-{Guid.NewGuid():N}.txt");

    public SendfileTrace(int pid)
    {
        var info = new ProcessStartInfo("strace") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var arg in new[] { "-f", "-e", "trace=sendfile", "-o", _output, "-p", pid.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        _strace = Process.Start(info) ?? throw new InvalidOperationException("cannot start strace");
        var attached = new TaskCompletionSource();
        _strace.ErrorDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("attached", StringComparison.Ordinal) == true)
            {
                attached.TrySetResult();
            }
        };
        _strace.BeginErrorReadLine();
        if (!attached.Task.Wait(TimeSpan.FromSeconds(10)) || _strace.HasExited)
        {
            Dispose();
            throw new InvalidOperationException("strace could not attach to the worker (ptrace not permitted?)");
        }

        // Every thread of the worker is traced once the last "attached" line is out; give it a moment.
        Thread.Sleep(300);
    }

    /// <summary>Stops tracing and returns the sendfile calls seen.</summary>
    public List<string> Stop()
    {
        if (!_strace.HasExited)
        {
            UnicornServer.Signal(_strace.Id, UnicornServer.SIGINT);
            _strace.WaitForExit(10_000);
        }

        return File.Exists(_output) ? [.. File.ReadAllLines(_output).Where(l => l.Contains("sendfile(", StringComparison.Ordinal))] : [];
    }

    public void Dispose()
    {
        if (!_strace.HasExited)
        {
            _strace.Kill();
            _strace.WaitForExit(10_000);
        }

        _strace.Dispose();
        File.Delete(_output);
    }
}
