using System.Text.Json;
using System.Text.Json.Nodes;
using Unicorn.Wsgi.Arbiter.Control;
using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

/// <summary>
/// JSON the native build writes without the reflection serializer (source-generated, or a writer): the same bytes
/// the reflection serializer wrote, since the Python side and other processes read it.
/// </summary>
public sealed class NativeJsonTests
{
    private const string Awkward = "é<>&'\"\\\u2028/ü\u0001";

    [Fact]
    public void The_ssl_context_result_is_what_the_snake_case_serializer_wrote_and_reads_back()
    {
        var result = new SslContextHookResult
        {
            CertFile = "/c/" + Awkward,
            KeyFile = null,
            Password = Awkward,
            CaFiles = ["/a", "/b"],
            VerifyMode = 2,
            Versions = ["TLSv1_3"],
            Refused = ["sni_callback"],
        };
        var reflection = JsonSerializer.Serialize(result, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        Assert.Equal(reflection, result.ToJson());
        var back = SslContextHookResult.FromJson(reflection);
        Assert.Equal(result.ToJson(), back.ToJson());
        Assert.Throws<JsonException>(() => SslContextHookResult.FromJson("""{"key_file": "/k"}""")); // cert_file is required
    }

    [Fact]
    public void A_plain_value_is_what_the_serializer_wrote()
    {
        var dict = new Dictionary<string, object?>
        {
            ["version"] = 1L,
            ["disable_existing_loggers"] = false,
            ["ratio"] = 0.1,
            ["big"] = 1e300,
            ["none"] = null,
            ["name" + Awkward] = Awkward,
            ["handlers"] = new Dictionary<string, object?> { ["console"] = new Dictionary<string, object?> { ["level"] = "DEBUG" } },
            ["list"] = new List<object?> { "a", 2L, null, new List<object?>() },
        };
        Assert.Equal(JsonSerializer.Serialize<object>(dict), Settings.PlainJson(dict));
    }

    [Fact]
    public void A_control_frame_is_what_the_serializer_wrote()
    {
        var message = new JsonObject { ["id"] = 1, ["status"] = "ok", ["data"] = new JsonObject { ["x"] = Awkward, ["n"] = 1.5, ["a"] = new JsonArray(1, null, "b") } };
        var frame = ControlProtocol.Encode(message);
        var payload = JsonSerializer.SerializeToUtf8Bytes<JsonNode>(message);
        Assert.Equal(payload.Length, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(frame));
        Assert.Equal(payload, frame[4..]);
    }
}
