namespace Unicorn.Wsgi.Workers.Reload;

/// <summary>
/// Gunicorn's default reloader: remembers each file's modification time and size and compares them on
/// every pass. A file that does not exist yet is watched from the moment it appears.
/// </summary>
internal sealed class PollDetector : ChangeDetector
{
    private readonly Dictionary<string, (DateTime Mtime, long Size)?> _seen = new(StringComparer.Ordinal);

    public override void Watch(IReadOnlyCollection<string> files)
    {
        var wanted = files as IReadOnlySet<string> ?? new HashSet<string>(files, StringComparer.Ordinal);
        foreach (var gone in _seen.Keys.Where(f => !wanted.Contains(f)).ToList())
        {
            _seen.Remove(gone);
        }

        foreach (var file in files)
        {
            if (!_seen.ContainsKey(file))
            {
                _seen[file] = Stat(file);
            }
        }
    }

    public override List<string> TakeChanges()
    {
        var changed = new List<string>();
        foreach (var (file, before) in _seen.ToList())
        {
            var now = Stat(file);
            if (now != before)
            {
                // A vanished file keeps its last state, so that its return counts as a change.
                if (now is not null)
                {
                    _seen[file] = now;
                }

                // A file that appears after its pattern was expanded is new, not changed.
                if (before is not null)
                {
                    changed.Add(file);
                }
            }
        }

        return changed;
    }

    private static (DateTime, long)? Stat(string file)
    {
        var info = new FileInfo(file);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : null;
    }
}
