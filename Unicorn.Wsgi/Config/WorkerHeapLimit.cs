using System.Globalization;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// <c>worker_heap_limit</c>, Unicorn's own: how much managed (.NET GC) heap each worker may take. <c>auto</c>: a
/// small gen0 budget, and under a container memory limit a hard heap limit of the workers' share of it;
/// a size (<c>64M</c>, <c>1G</c>, bytes): that hard limit per worker; a percentage: that share of the
/// container's (else the machine's) memory per worker; <c>unlimited</c>: .NET's own defaults.
/// </summary>
public sealed record WorkerHeapLimit : IPlainValue
{
    public static WorkerHeapLimit Auto { get; } = new() { Text = "auto" };

    public static WorkerHeapLimit Unlimited { get; } = new() { Text = "unlimited", IsUnlimited = true };

    /// <summary>The value as written (auto and unlimited in lower case), its plain form.</summary>
    public required string Text { get; init; }

    public bool IsUnlimited { get; init; }

    /// <summary>A hard heap limit per worker in bytes, when one was given as a size.</summary>
    public long? LimitBytes { get; init; }

    /// <summary>A hard heap limit per worker as a percentage of the memory available, when given as one.</summary>
    public int? LimitPercent { get; init; }

    public bool IsAuto => !IsUnlimited && LimitBytes is null && LimitPercent is null;

    object? IPlainValue.Plain => Text;

    /// <summary>Parses auto, unlimited, a size with an optional K/M/G (or KiB/MiB/GiB) suffix, powers of 1024, or N%.</summary>
    /// <exception cref="SettingValueException">anything else, or a limit below 16 MiB or outside 1-100%.</exception>
    public static WorkerHeapLimit Parse(string text)
    {
        var word = text.Trim().ToLowerInvariant();
        switch (word)
        {
            case "auto":
                return Auto;
            case "unlimited" or "off" or "none":
                return Unlimited;
        }

        if (word.EndsWith('%'))
        {
            if (!int.TryParse(word[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var percent) || percent is < 1 or > 100)
            {
                throw Invalid(text);
            }

            return new WorkerHeapLimit { Text = text.Trim(), LimitPercent = percent };
        }

        // 64M and 64MiB are the same, as the docs write sizes (64MB, which may mean powers of 1000, is refused).
        word = word.Length > 3 && word.EndsWith("ib", StringComparison.Ordinal) && !char.IsAsciiDigit(word[^3]) ? word[..^2] : word;
        var shift = word.Length == 0 ? 0 : char.ToLowerInvariant(word[^1]) switch { 'k' => 10, 'm' => 20, 'g' => 30, _ => 0 };
        var digits = shift == 0 ? word : word[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > long.MaxValue >> shift)
        {
            throw Invalid(text);
        }

        var bytes = n << shift;
        if (bytes < MinimumBytes)
        {
            throw new SettingValueException($"worker_heap_limit {text.Trim()} is below the 16M a worker's runtime needs");
        }

        return new WorkerHeapLimit { Text = text.Trim(), LimitBytes = bytes };
    }

    /// <summary>The smallest hard limit accepted, and the floor of the automatic one.</summary>
    public const long MinimumBytes = 16L << 20;

    private static SettingValueException Invalid(string text) =>
        new($"worker_heap_limit must be auto, unlimited, a size such as 64M or 1G, or a percentage such as 10%, not '{text.Trim()}'");
}
