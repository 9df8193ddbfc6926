using System.Buffers.Binary;
using System.Text;

namespace Unicorn.Wsgi.Tests.Uwsgi;

/// <summary>Builds uwsgi packets as nginx's uwsgi module writes them, for the tests.</summary>
internal static class UwsgiPackets
{
    public static byte[] Build(IEnumerable<(string Name, string Value)> vars, byte modifier1 = 0, byte modifier2 = 0)
    {
        var block = new MemoryStream();
        foreach (var (name, value) in vars)
        {
            WriteString(block, name);
            WriteString(block, value);
        }

        return Frame(block.ToArray(), modifier1, modifier2);
    }

    /// <summary>A 4-byte header declaring <paramref name="block"/>'s length, then the block as given.</summary>
    public static byte[] Frame(byte[] block, byte modifier1 = 0, byte modifier2 = 0, int? declaredSize = null)
    {
        var packet = new byte[4 + block.Length];
        packet[0] = modifier1;
        BinaryPrimitives.WriteUInt16LittleEndian(packet.AsSpan(1), (ushort)(declaredSize ?? block.Length));
        packet[3] = modifier2;
        block.CopyTo(packet, 4);
        return packet;
    }

    /// <summary>A GET or POST as nginx sends it with the stock uwsgi_params.</summary>
    public static byte[] Request(string method = "GET", string path = "/", string query = "", string body = "", params (string, string)[] more)
    {
        List<(string, string)> vars =
        [
            ("QUERY_STRING", query), ("REQUEST_METHOD", method), ("CONTENT_TYPE", body.Length > 0 ? "text/plain" : ""),
            ("CONTENT_LENGTH", body.Length > 0 ? body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) : ""),
            ("REQUEST_URI", query.Length > 0 ? $"{path}?{query}" : path), ("PATH_INFO", path), ("DOCUMENT_ROOT", "/srv/www"),
            ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_SCHEME", "http"), ("REMOTE_ADDR", "203.0.113.7"), ("REMOTE_PORT", "51234"),
            ("SERVER_PORT", "80"), ("SERVER_NAME", "example.org"), ("HTTP_HOST", "example.org"), ("HTTP_USER_AGENT", "test"),
        ];
        vars.AddRange(more);
        return [.. Build(vars), .. Encoding.Latin1.GetBytes(body)];
    }

    private static void WriteString(MemoryStream block, string s)
    {
        var bytes = Encoding.Latin1.GetBytes(s);
        Span<byte> size = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(size, (ushort)bytes.Length);
        block.Write(size);
        block.Write(bytes);
    }
}
