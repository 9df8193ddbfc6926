using System.Globalization;
using System.Text;

namespace Unicorn.Wsgi.Workers;

/// <summary>The <c>Date:</c> header line, formatted once per second rather than once per response.</summary>
internal sealed class DateHeader
{
    private sealed record Entry(long Second, byte[] Line);

    private Entry _current = new(-1, []);

    public ReadOnlySpan<byte> Line
    {
        get
        {
            var now = DateTimeOffset.UtcNow;
            var second = now.ToUnixTimeSeconds();
            var entry = Volatile.Read(ref _current);
            if (entry.Second != second)
            {
                var text = "Date: " + now.ToString("r", CultureInfo.InvariantCulture) + "\r\n";
                entry = new Entry(second, Encoding.ASCII.GetBytes(text));
                Volatile.Write(ref _current, entry);
            }

            return entry.Line;
        }
    }
}
