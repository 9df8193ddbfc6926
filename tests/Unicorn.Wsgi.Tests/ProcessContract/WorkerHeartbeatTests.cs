using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Tests.ProcessContract;

public sealed class WorkerHeartbeatTests
{
    [FullTmpfsFact]
    public void A_full_worker_tmp_dir_gets_a_heartbeat_in_memory()
    {
        // A full /dev/shm: Gunicorn's heartbeat needs no byte of it (it changes the file's mode), so its workers still
        // start; this heartbeat's few bytes go to an anonymous memory file instead of failing the worker's start.
        using var full = FullTmpfs.Mount();
        using var heartbeat = WorkerHeartbeat.Create(full.Path);
        heartbeat.Beat(WorkerState.Ready);
        Assert.Equal(WorkerState.Ready, heartbeat.Read().State);
        Assert.StartsWith("/memfd:wunicorn", new FileInfo($"/proc/self/fd/{heartbeat.Fd}").LinkTarget, StringComparison.Ordinal);
        Assert.Equal(["filler"], Directory.EnumerateFileSystemEntries(full.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void A_heartbeat_lives_in_worker_tmp_dir_when_it_has_room()
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-beat-").FullName;
        try
        {
            using var heartbeat = WorkerHeartbeat.Create(dir);
            Assert.StartsWith(dir + "/wunicorn-", new FileInfo($"/proc/self/fd/{heartbeat.Fd}").LinkTarget, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFileSystemEntries(dir)); // unlinked at once
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
