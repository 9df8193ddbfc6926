using Unicorn.Wsgi.Arbiter;
using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Arbiter;

/// <summary>What <c>worker_heap_limit</c> puts in a worker's environment.</summary>
public sealed class WorkerGcEnvironmentTests
{
    private static Dictionary<string, string> Apply(string setting, int workers = 2, long? container = null, Dictionary<string, string>? env = null)
    {
        env ??= [];
        WorkerGcEnvironment.Apply(env, WorkerHeapLimit.Parse(setting), workers, container);
        return env;
    }

    [Fact]
    public void Auto_outside_a_container_caps_gen0_only()
    {
        Assert.Equal(new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "0x200000" }, Apply("auto"));
    }

    [Fact]
    public void Auto_in_a_container_shares_three_quarters_of_its_limit_among_the_workers()
    {
        // 1 GiB, 4 workers: 192 MiB each.
        Assert.Equal("0xc000000", Apply("auto", workers: 4, container: 1L << 30)["DOTNET_GCHeapHardLimit"]);
        // Never below 16 MiB, however many workers share it.
        Assert.Equal("0x1000000", Apply("auto", workers: 64, container: 256L << 20)["DOTNET_GCHeapHardLimit"]);
    }

    [Fact]
    public void Finds_the_limit_of_its_own_cgroup_not_only_the_mounts_root()
    {
        var root = Directory.CreateTempSubdirectory("cgroup").FullName;
        try
        {
            void Write(string dir, string file, string text)
            {
                Directory.CreateDirectory(Path.Combine(root, dir));
                File.WriteAllText(Path.Combine(root, dir, file), text + "\n");
            }

            // v1 on a host: the root is unlimited, the process's own cgroup (as systemd's MemoryMax= or a
            // cgroup made by hand puts it) has the limit; a parent's smaller limit wins.
            Write("memory", "memory.limit_in_bytes", "9223372036854771712");
            Write("memory/app", "memory.limit_in_bytes", "536870912");
            Write("memory/app/web", "memory.limit_in_bytes", "9223372036854771712");
            Assert.Equal(512L << 20, WorkerGcEnvironment.ContainerMemoryLimit(root, "5:memory:/app/web\n0::/\n"));
            Assert.Equal(512L << 20, WorkerGcEnvironment.ContainerMemoryLimit(root, "4:cpu,memory:/app/web\n"));
            Assert.Null(WorkerGcEnvironment.ContainerMemoryLimit(root, "5:memory:/\n"));

            // v1 in a container: its own cgroup is the mount's root; the path /proc/self/cgroup names is not there.
            Write("memory", "memory.limit_in_bytes", "268435456");
            Assert.Equal(256L << 20, WorkerGcEnvironment.ContainerMemoryLimit(root, "5:memory:/docker/0123abcd\n"));

            // v2: a unit below the root has memory.max (the root has none); "max" is no limit.
            Write("system.slice/web.service", "memory.max", "1073741824");
            Write("system.slice", "memory.max", "max");
            Assert.Equal(1L << 30, WorkerGcEnvironment.ContainerMemoryLimit(root, "0::/system.slice/web.service\n"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_size_or_a_percentage_is_the_hard_limit_per_worker()
    {
        Assert.Equal("0x4000000", Apply("64M", container: 1L << 30)["DOTNET_GCHeapHardLimit"]);
        Assert.Equal("0x40000000", Apply("1g")["DOTNET_GCHeapHardLimit"]);
        var percent = Apply("10%");
        Assert.Equal("0xa", percent["DOTNET_GCHeapHardLimitPercent"]);
        Assert.False(percent.ContainsKey("DOTNET_GCHeapHardLimit"));
    }

    [Fact]
    public void A_small_hard_limit_gets_small_regions()
    {
        // 16 MiB in .NET's 4 MiB regions is 4 regions for the whole heap: the runtime crashed when they ran out.
        Assert.Equal("0x100000", Apply("16M")["DOTNET_GCRegionSize"]);
        Assert.Equal("0x100000", Apply("auto", workers: 8, container: 512L << 20)["DOTNET_GCRegionSize"]);
        Assert.False(Apply("256M").ContainsKey("DOTNET_GCRegionSize"));
        Assert.False(Apply("10%").ContainsKey("DOTNET_GCRegionSize"));
        Assert.Equal("0x400000", Apply("16M", env: new() { ["DOTNET_GCRegionSize"] = "0x400000" })["DOTNET_GCRegionSize"]);
    }

    [Fact]
    public void Describes_what_auto_resolved_to_for_the_masters_debug_log()
    {
        // Forked workers' /proc/PID/environ is the zygote's: this line is what shows the resolved limit.
        string Describe(string setting, int workers = 4, long? container = null, Dictionary<string, string>? env = null) =>
            WorkerGcEnvironment.Apply(env ?? [], WorkerHeapLimit.Parse(setting), workers, container);

        Assert.Equal("worker_heap_limit auto: 30 MiB hard heap limit per worker (75% of the cgroup memory limit 160 MiB over 4 worker(s))",
            Describe("auto", container: 160L << 20));
        Assert.Equal("worker_heap_limit auto: no hard heap limit per worker (no cgroup memory limit found)", Describe("auto"));
        Assert.Equal("worker_heap_limit 64M: 64 MiB hard heap limit per worker (cgroup memory limit 512 MiB)",
            Describe("64M", container: 512L << 20));
        Assert.Equal("worker_heap_limit 10%: DOTNET_GCHeapHardLimitPercent=0xa per worker (no cgroup memory limit found)", Describe("10%"));
        Assert.Equal("worker_heap_limit auto: DOTNET_GCHeapHardLimit=0x2000000 per worker (cgroup memory limit 160 MiB)",
            Describe("auto", container: 160L << 20, env: new() { ["DOTNET_GCHeapHardLimit"] = "0x2000000" }));
        Assert.Equal("worker_heap_limit unlimited: workers start with .NET's own GC defaults", Describe("unlimited", container: 1L << 30));
    }

    [Fact]
    public void Unlimited_adds_nothing()
    {
        Assert.Empty(Apply("unlimited", container: 1L << 30));
    }

    [Fact]
    public void The_users_own_variables_win()
    {
        var env = Apply("64M", env: new() { ["DOTNET_GCgen0size"] = "0x1000000", ["DOTNET_GCHeapHardLimitPercent"] = "0x20" });
        Assert.Equal("0x1000000", env["DOTNET_GCgen0size"]);
        Assert.Equal("0x20", env["DOTNET_GCHeapHardLimitPercent"]);
        Assert.False(env.ContainsKey("DOTNET_GCHeapHardLimit"));
    }

    [Theory]
    [InlineData("auto", null)]
    [InlineData(" Unlimited ", null)]
    [InlineData("16M", 16L << 20)]
    [InlineData("65536K", 64L << 20)]
    [InlineData("64MiB", 64L << 20)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("134217728", 128L << 20)]
    public void Parses_the_forms_it_documents(string text, long? bytes)
    {
        Assert.Equal(bytes, WorkerHeapLimit.Parse(text).LimitBytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("64MB")]
    [InlineData("MiB")]
    [InlineData("64iB")]
    [InlineData("-1")]
    [InlineData("0%")]
    [InlineData("101%")]
    [InlineData("1M")]
    [InlineData("99999999999G")]
    public void Refuses_anything_else_with_a_message_naming_the_setting(string text)
    {
        var e = Assert.Throws<SettingValueException>(() => WorkerHeapLimit.Parse(text));
        Assert.Contains("worker_heap_limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_flag_resolves_to_the_typed_value_and_travels_to_workers_as_text()
    {
        var s = SettingsResolver.Resolve(["--worker-heap-limit", "48M", "app:app"], new Dictionary<string, string?>(), null, Path.GetTempPath());
        Assert.Equal(48L << 20, s.WorkerHeapLimit.LimitBytes);
        var back = Settings.FromJson(s.ToJson());
        Assert.Equal("48M", back.WorkerHeapLimit.Text);
        Assert.True(SettingsResolver.Resolve(["app:app"], new Dictionary<string, string?>(), null, Path.GetTempPath()).WorkerHeapLimit.IsAuto);
    }
}
