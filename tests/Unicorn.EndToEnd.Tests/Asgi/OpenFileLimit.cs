using System.Runtime.InteropServices;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>
/// RLIMIT_NOFILE of the test process, which the servers and clients it starts inherit: tests holding thousands of
/// sockets raise it (the hard limit too when run as root, as CI is) rather than depend on the machine's default.
/// </summary>
internal static partial class OpenFileLimit
{
    private const int RlimitNofile = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    /// <summary>Raises the soft limit (and the hard one when it is lower) to at least <paramref name="files"/>.</summary>
    public static void EnsureAtLeast(ulong files)
    {
        Assert.Equal(0, getrlimit(RlimitNofile, out var limit));
        if (limit.Current >= files)
        {
            return;
        }

        var wanted = new RLimit { Current = files, Maximum = Math.Max(files, limit.Maximum) };
        Assert.True(
            setrlimit(RlimitNofile, in wanted) == 0,
            $"cannot raise RLIMIT_NOFILE from {limit.Current}/{limit.Maximum} to {files} (errno {Marshal.GetLastPInvokeError()}): run as root or raise the hard limit");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, in RLimit limit);
}
