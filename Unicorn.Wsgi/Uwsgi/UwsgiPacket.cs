namespace Unicorn.Wsgi.Uwsgi;

/// <summary>
/// One uwsgi request packet as <see cref="UwsgiPacketParser"/> read it: the two modifiers and the vars
/// block (CGI-style names and values, latin-1, one char per byte). The body follows the packet on the
/// connection, <see cref="ContentLength"/> bytes of it. Reused per connection.
/// </summary>
public sealed class UwsgiPacket
{
    /// <summary>The packet type: 0 is a WSGI request, the only one served (as Gunicorn).</summary>
    public byte Modifier1 { get; set; }

    public byte Modifier2 { get; set; }

    /// <summary>The vars by name; a repeated name keeps its last value, as Gunicorn's dict does.</summary>
    public Dictionary<string, string> Vars { get; } = new(StringComparer.Ordinal);

    /// <summary>CONTENT_LENGTH: the body's size (0 when the var is missing or empty, as nginx sends it for no body).</summary>
    public long ContentLength { get; set; }

    public string? Get(string name) => Vars.TryGetValue(name, out var value) ? value : null;

    public void Reset()
    {
        Modifier1 = Modifier2 = 0;
        Vars.Clear();
        ContentLength = 0;
    }
}
