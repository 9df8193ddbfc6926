using System.Runtime.InteropServices;

namespace Unicorn.EndToEnd.Tests.AsyncWorkers;

/// <summary>
/// RLIMIT_NOFILE for tests that hold thousands of sockets (10,000 idle greenlet connections or websockets): the test process and every server it starts
/// (which inherit its hard limit) need room for them.
/// </summary>
internal static partial class FileLimit
{
    private const int RLIMIT_NOFILE = 7;

    /// <summary>Raises this process's soft and hard limits to at least <paramref name="needed"/>; root may raise the hard one.</summary>
    public static void EnsureAtLeast(ulong needed)
    {
        if (getrlimit(RLIMIT_NOFILE, out var limit) != 0)
        {
            throw new InvalidOperationException($"getrlimit(RLIMIT_NOFILE) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        if (limit.Current >= needed && limit.Max >= needed)
        {
            return;
        }

        var raised = new RLimit { Current = Math.Max(limit.Current, needed), Max = Math.Max(limit.Max, needed) };
        if (setrlimit(RLIMIT_NOFILE, in raised) != 0)
        {
            throw new InvalidOperationException(
                $"this test needs {needed} open files but RLIMIT_NOFILE is {limit.Current}/{limit.Max} and raising it failed " +
                $"(errno {Marshal.GetLastPInvokeError()}): run as root or raise the hard limit (ulimit -Hn)");
        }
    }

    /// <summary>The soft and hard "Max open files" of another process, from /proc.</summary>
    public static (string Soft, string Hard) Of(int pid)
    {
        var fields = File.ReadLines($"/proc/{pid}/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            ["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (fields[0], fields[1]);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, in RLimit limit);
}
