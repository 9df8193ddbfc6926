using System.Text;
using System.Text.RegularExpressions;

namespace Unicorn.Wsgi.Workers.Reload;

/// <summary>
/// <c>--reload-extra-file</c> entries, as Gunicorn 26.1 reads them: an entry with <c>*</c>, <c>?</c> or
/// <c>[</c> is a glob pattern, expanded again on every pass so files created later are watched too;
/// <c>**</c> crosses directories. Relative entries are relative to the working directory (<c>--chdir</c>).
/// </summary>
public sealed class ExtraFiles
{
    private readonly List<string> _literal = [];
    private readonly List<Pattern> _patterns = [];

    public ExtraFiles(IEnumerable<string> entries, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            var full = Path.GetFullPath(entry, baseDirectory);
            if (IsPattern(entry))
            {
                _patterns.Add(Pattern.Parse(entry, full));
            }
            else
            {
                _literal.Add(full);
            }
        }
    }

    /// <summary>The patterns that match no file now (Gunicorn warns about them rather than failing).</summary>
    public IEnumerable<string> PatternsMatchingNothing() =>
        _patterns.Where(p => !p.Expand().Any()).Select(p => p.Text);

    /// <summary>Every file the entries name now: literal entries as given, patterns expanded.</summary>
    public IEnumerable<string> Expand() => _literal.Concat(_patterns.SelectMany(p => p.Expand()));

    public static bool IsPattern(string entry) => entry.AsSpan().IndexOfAny("*?[") >= 0;

    private sealed record Pattern(string Text, string Root, Regex Match, int? MaxDepth)
    {
        public static Pattern Parse(string text, string full)
        {
            // The walk starts at the longest leading run of segments without wildcards.
            var segments = full.Split('/');
            var fixedCount = segments.TakeWhile(s => !IsPattern(s)).Count();
            var root = string.Join('/', segments.Take(fixedCount));
            var rest = segments.Skip(fixedCount).ToArray();
            int? depth = rest.Contains("**") ? null : rest.Length - 1;
            return new Pattern(text, root.Length == 0 ? "/" : root, new Regex("^" + ToRegex(rest) + "$", RegexOptions.CultureInvariant), depth);
        }

        public IEnumerable<string> Expand()
        {
            if (!Directory.Exists(Root))
            {
                return [];
            }

            var options = new EnumerationOptions
            {
                RecurseSubdirectories = MaxDepth != 0,
                MaxRecursionDepth = MaxDepth ?? int.MaxValue,
                IgnoreInaccessible = true,
                AttributesToSkip = 0,
                MatchType = MatchType.Simple,
            };
            var prefix = Root.EndsWith('/') ? Root.Length : Root.Length + 1;
            return Directory.EnumerateFiles(Root, "*", options).Where(f => Match.IsMatch(f[prefix..]));
        }

        private static string ToRegex(string[] segments)
        {
            var sb = new StringBuilder();
            for (var i = 0; i < segments.Length; i++)
            {
                var last = i == segments.Length - 1;
                if (segments[i] == "**")
                {
                    // Zero or more whole directories (or, last, anything below).
                    sb.Append(last ? ".*" : "(?:[^/]+/)*");
                    continue;
                }

                AppendSegment(sb, segments[i]);
                if (!last)
                {
                    sb.Append('/');
                }
            }

            return sb.ToString();
        }

        private static void AppendSegment(StringBuilder sb, string segment)
        {
            for (var i = 0; i < segment.Length; i++)
            {
                var c = segment[i];
                switch (c)
                {
                    case '*':
                        sb.Append("[^/]*");
                        break;
                    case '?':
                        sb.Append("[^/]");
                        break;
                    case '[':
                        var close = segment.IndexOf(']', i + 2);
                        if (close < 0)
                        {
                            sb.Append(@"\[");
                            break;
                        }

                        var set = segment[(i + 1)..close];
                        sb.Append('[').Append(set.StartsWith('!') ? "^" + Escape(set[1..]) : Escape(set)).Append(']');
                        i = close;
                        break;
                    default:
                        sb.Append(Regex.Escape(c.ToString()));
                        break;
                }
            }
        }

        private static string Escape(string set) => set.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("[", @"\[", StringComparison.Ordinal);
    }
}
