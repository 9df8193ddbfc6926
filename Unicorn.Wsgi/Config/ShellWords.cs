using System.Text;

namespace Unicorn.Wsgi.Config;

/// <summary>Python's <c>shlex.split</c> (POSIX mode, no comments), which Gunicorn applies to <c>GUNICORN_CMD_ARGS</c>.</summary>
internal static class ShellWords
{
    public static List<string> Split(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }

                continue;
            }

            inWord = true;
            switch (c)
            {
                case '\\':
                    if (++i >= text.Length)
                    {
                        throw new ConfigException("Error: No escaped character");
                    }

                    word.Append(text[i]);
                    break;
                case '\'':
                    var close = text.IndexOf('\'', i + 1);
                    if (close < 0)
                    {
                        throw new ConfigException("Error: No closing quotation");
                    }

                    word.Append(text, i + 1, close - i - 1);
                    i = close;
                    break;
                case '"':
                    for (i++; ; i++)
                    {
                        if (i >= text.Length)
                        {
                            throw new ConfigException("Error: No closing quotation");
                        }

                        if (text[i] == '"')
                        {
                            break;
                        }

                        // Inside double quotes a backslash escapes only '"' and '\'.
                        if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\')
                        {
                            i++;
                        }

                        word.Append(text[i]);
                    }

                    break;
                default:
                    word.Append(c);
                    break;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }
}
