using System.Globalization;
using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// The .NET GC variables a worker starts with, from <c>worker_heap_limit</c>. Each worker is its own runtime,
/// and .NET sizes each one as if it had the machine (or the container) to itself: gen0 from the CPU cache,
/// a hard limit of 75% of the container's memory. With N workers that is N times too much, so the heap
/// grows under load and never shrinks back (bench/results/memory.md).
/// </summary>
internal static class WorkerGcEnvironment
{
    /// <summary>
    /// A gen0 budget this small costs no measurable throughput: most per-request garbage dies young
    /// (bench/results/memory.md).
    /// </summary>
    public const string Gen0Size = "0x200000";

    /// <summary>
    /// Below this hard limit a worker's regions are 1 MiB rather than .NET's 4 MiB: a 16-32 MiB heap in 4 MiB regions
    /// is 4-8 regions for every generation together, and a worker that ran out of them under load died of SIGSEGV
    /// inside the runtime instead of failing the request with an out-of-memory error (probe16/gpump.md).
    /// </summary>
    public const long SmallHeapBytes = 256L << 20;

    /// <summary>The region size for a hard limit below <see cref="SmallHeapBytes"/>.</summary>
    public const string SmallHeapRegionSize = "0x100000";

    /// <summary>
    /// Adds the variables to <paramref name="env"/> (any DOTNET_GC* variable already there wins) and returns one line
    /// naming the heap limit a worker gets and where it came from, for the master's debug log: with workers forked from
    /// the zygote (the default) their /proc/PID/environ is the zygote's, so nothing else shows what auto resolved to.
    /// </summary>
    public static string Apply(IDictionary<string, string> env, WorkerHeapLimit limit, int workers, long? containerLimit)
    {
        if (limit.IsUnlimited)
        {
            return "worker_heap_limit unlimited: workers start with .NET's own GC defaults";
        }

        env.TryAdd("DOTNET_GCgen0size", Gen0Size);
        var container = containerLimit is { } c ? $"cgroup memory limit {Mib(c)}" : "no cgroup memory limit found";
        var own = env.Where(kv => kv.Key.StartsWith("DOTNET_GCHeapHardLimit", StringComparison.OrdinalIgnoreCase))
            .Select(kv => $"{kv.Key}={kv.Value}").ToList();
        if (own.Count > 0)
        {
            return $"worker_heap_limit {limit.Text}: {string.Join(", ", own)} per worker ({container})";
        }

        if (limit.LimitPercent is { } percent)
        {
            var value = "0x" + percent.ToString("x", CultureInfo.InvariantCulture);
            env["DOTNET_GCHeapHardLimitPercent"] = value;
            return $"worker_heap_limit {limit.Text}: DOTNET_GCHeapHardLimitPercent={value} per worker ({container})";
        }

        if ((limit.LimitBytes ?? AutoLimit(workers, containerLimit)) is not { } bytes)
        {
            return $"worker_heap_limit {limit.Text}: no hard heap limit per worker ({container})";
        }

        env["DOTNET_GCHeapHardLimit"] = "0x" + bytes.ToString("x", CultureInfo.InvariantCulture);
        if (bytes < SmallHeapBytes)
        {
            env.TryAdd("DOTNET_GCRegionSize", SmallHeapRegionSize);
        }

        var why = limit.IsAuto ? $"75% of the {container} over {workers} worker(s)" : container;
        return $"worker_heap_limit {limit.Text}: {Mib(bytes)} hard heap limit per worker ({why})";
    }

    private static string Mib(long bytes) =>
        bytes % (1L << 20) == 0 ? $"{bytes >> 20} MiB" : $"{(bytes / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture)} MiB";

    /// <summary>
    /// auto's hard limit: none outside a container limit; inside one, .NET's own 75% shared among the
    /// workers, never below <see cref="WorkerHeapLimit.MinimumBytes"/>.
    /// </summary>
    public static long? AutoLimit(int workers, long? containerLimit) =>
        containerLimit is { } total ? Math.Max(WorkerHeapLimit.MinimumBytes, total / 4 * 3 / Math.Max(1, workers)) : null;

    /// <summary>
    /// The memory limit of this process's cgroup (v2, else v1), or null when there is none: the smallest
    /// limit on the way from its own cgroup (named in /proc/self/cgroup) up to the mount's root, as .NET
    /// itself finds it. A container sees its cgroup at the mount's root; a systemd unit's MemoryMax= or a
    /// cgroup a process was put in on the host is below it.
    /// </summary>
    public static long? ContainerMemoryLimit() => ContainerMemoryLimit("/sys/fs/cgroup", ReadOrNull("/proc/self/cgroup"));

    internal static long? ContainerMemoryLimit(string root, string? procSelfCgroup)
    {
        string? v1 = null, v2 = null;
        foreach (var line in (procSelfCgroup ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // "hierarchy-id:controllers:path"; v2's line is "0::path".
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            if (parts[0] == "0" && parts[1].Length == 0)
            {
                v2 = parts[2];
            }
            else if (parts[1].Split(',').Contains("memory"))
            {
                v1 = parts[2];
            }
        }

        return SmallestLimit(root, v2 ?? "/", "memory.max") ?? SmallestLimit(Path.Combine(root, "memory"), v1 ?? "/", "memory.limit_in_bytes");
    }

    private static long? SmallestLimit(string mount, string cgroup, string file)
    {
        long? smallest = null;
        var dir = cgroup.Trim('/');
        while (true)
        {
            // v1 reports "no limit" as a number near 2^63; v2 as "max".
            if (ReadOrNull(Path.Combine(mount, dir, file))?.Trim() is { } text
                && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < 1L << 50)
            {
                smallest = Math.Min(n, smallest ?? long.MaxValue);
            }

            if (dir.Length == 0)
            {
                return smallest;
            }

            var slash = dir.LastIndexOf('/');
            dir = slash < 0 ? "" : dir[..slash];
        }
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
