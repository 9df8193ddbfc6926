namespace Unicorn.Wsgi.Logging;

/// <summary>
/// Base64 decoding as Python's non-strict <c>b64decode</c> does it (what Gunicorn uses for <c>%(u)s</c>):
/// characters outside the alphabet are skipped, a complete padding ends the data, and a dangling
/// partial quantum is an error. Matching it keeps <c>%(u)s</c> identical for odd headers.
/// </summary>
internal static class LenientBase64
{
    public static bool TryDecode(string text, out byte[] bytes)
    {
        var output = new List<byte>(text.Length * 3 / 4);
        int quadPos = 0, left = 0, pads = 0;
        foreach (var c in text)
        {
            if (c == '=')
            {
                if (quadPos >= 2 && quadPos + ++pads >= 4)
                {
                    quadPos = 0; // complete padding: the data ends here
                    break;
                }

                continue;
            }

            var v = Value(c);
            if (v < 0)
            {
                continue;
            }

            pads = 0;
            switch (quadPos)
            {
                case 0:
                    left = v;
                    quadPos = 1;
                    break;
                case 1:
                    output.Add((byte)((left << 2) | (v >> 4)));
                    left = v & 0x0f;
                    quadPos = 2;
                    break;
                case 2:
                    output.Add((byte)((left << 4) | (v >> 2)));
                    left = v & 0x03;
                    quadPos = 3;
                    break;
                default:
                    output.Add((byte)((left << 6) | v));
                    quadPos = 0;
                    break;
            }
        }

        bytes = [.. output];
        return quadPos == 0;
    }

    private static int Value(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '+' => 62,
        '/' => 63,
        _ => -1,
    };
}
