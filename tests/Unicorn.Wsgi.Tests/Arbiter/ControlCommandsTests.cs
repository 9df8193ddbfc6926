using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Unicorn.Wsgi.Arbiter.Control;

namespace Unicorn.Wsgi.Tests.Arbiter;

public class ControlCommandsTests
{
    private sealed class FakeTarget : IControlTarget
    {
        public List<string> Calls { get; } = [];

        public IDirtyPool? Dirty { get; set; }

        public JsonObject ShowWorkers() => Called("show workers");

        public JsonObject ShowAll() => Called("show all");

        public JsonObject ShowConfig() => Called("show config");

        public JsonObject ShowStats() => Called("show stats");

        public JsonObject ShowListeners() => Called("show listeners");

        public JsonObject WorkerAdd(int count) => Called($"add {count}");

        public JsonObject WorkerRemove(int count) => Called($"remove {count}");

        public JsonObject WorkerKill(int pid) => Called($"kill {pid}");

        public void Raise(int signal) => Calls.Add($"signal {signal}");

        private JsonObject Called(string what)
        {
            Calls.Add(what);
            return [];
        }
    }

    [Theory]
    [InlineData("show workers", "show workers")]
    [InlineData("SHOW Stats", "show stats")]
    [InlineData("show all", "show all")]
    [InlineData("show config", "show config")]
    [InlineData("show listeners", "show listeners")]
    [InlineData("worker add", "add 1")]
    [InlineData("worker add 3", "add 3")]
    [InlineData("worker add 0", "add 1")] // clamped to one, as Gunicorn does
    [InlineData("worker remove 2", "remove 2")]
    [InlineData("worker kill 1234", "kill 1234")]
    [InlineData("reload", "signal 1")]
    [InlineData("reopen", "signal 10")]
    [InlineData("shutdown", "signal 15")]
    [InlineData("shutdown graceful", "signal 15")]
    [InlineData("shutdown quick", "signal 2")]
    public void CommandsReachTheTarget(string command, string call)
    {
        var target = new FakeTarget();
        ControlCommands.Execute(command.Split(' '), target);
        Assert.Equal([call], target.Calls);
    }

    [Theory]
    [InlineData("bogus", "Invalid argument: Unknown command: bogus")]
    [InlineData("show", "Invalid argument: Missing show target (all|workers|dirty|config|stats|listeners)")]
    [InlineData("show nothing", "Invalid argument: Unknown show target: nothing")]
    [InlineData("worker", "Invalid argument: Missing worker action (add|remove|kill)")]
    [InlineData("worker add two", "Invalid argument: 'two' is not an integer")]
    [InlineData("worker kill", "Invalid argument: Missing PID for worker kill")]
    [InlineData("worker jump", "Invalid argument: Unknown worker action: jump")]
    [InlineData("shutdown now", "Invalid argument: Unknown shutdown mode: now (graceful|quick)")]
    [InlineData("dirty add", ControlCommands.NoDirtyArbiter)]
    [InlineData("dirty remove 2", ControlCommands.NoDirtyArbiter)]
    [InlineData("dirty", "Invalid argument: Missing dirty action (add|remove)")]
    public void BadCommandsAreRefusedWithOneLineAndTouchNothing(string command, string error)
    {
        var target = new FakeTarget();
        var e = Assert.Throws<ControlCommandException>(() => ControlCommands.Execute(command.Split(' '), target));
        Assert.Equal(error, e.Message);
        Assert.Empty(target.Calls);
    }

    [Fact]
    public void ShowDirtyWithoutADirtyArbiterHasGunicornsNotRunningShape()
    {
        var data = ControlCommands.Execute(["show", "dirty"], new FakeTarget());
        Assert.False((bool)data["enabled"]!);
        Assert.Null(data["pid"]);
    }

    [Fact]
    public void HelpListsEveryCommand()
    {
        var commands = ControlCommands.Execute(["help"], new FakeTarget())["commands"]!.AsObject();
        Assert.Contains("worker kill <PID>", commands.Select(c => c.Key));
        Assert.Equal(15, commands.Count);
    }

    [Fact]
    public async Task FramesAreLengthPrefixedJsonAndOversizedOnesAreRefused()
    {
        var frame = ControlProtocol.Encode(ControlProtocol.Ok(7, new JsonObject { ["a"] = 1 }));
        Assert.Equal(frame.Length - 4, (int)BinaryPrimitives.ReadUInt32BigEndian(frame));
        using var stream = new MemoryStream(frame);
        var length = await ControlProtocol.ReadLengthAsync(stream, CancellationToken.None);
        var message = await ControlProtocol.ReadPayloadAsync(stream, length!.Value, CancellationToken.None);
        Assert.Equal("""{"id":7,"status":"ok","data":{"a":1}}""", message.ToJsonString());
        Assert.Null(await ControlProtocol.ReadLengthAsync(stream, CancellationToken.None));

        var huge = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(huge, ControlProtocol.MaxMessageSize + 1);
        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => ControlProtocol.ReadLengthAsync(new MemoryStream(huge), CancellationToken.None));
        Assert.True(e.Fatal);
        var bad = Assert.Throws<ControlProtocolException>(() => ControlProtocol.Parse("{"u8));
        Assert.False(bad.Fatal);
        Assert.StartsWith("Invalid JSON", bad.Message, StringComparison.Ordinal);
    }
}
