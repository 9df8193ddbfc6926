using System.Text.Json.Serialization;

namespace Unicorn.Cli;

/// <summary>The command line's JSON, source-generated so the native (NativeAOT) build reads it without reflection.</summary>
[JsonSerializable(typeof(string[]))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
