using System.Text;
using SharpFuzz;
using Unicorn.Wsgi.Tests.Http;

namespace Unicorn.Fuzz;

/// <summary>
/// AFL++ target for the HTTP/1.x parser (run by bench/fuzz). The first input byte picks parser settings,
/// the rest is what a client sends. The same bytes go through a simulated connection all at once, byte by
/// byte and in 7-byte pieces; any exception other than a BadHttpRequestException, and any difference
/// between the three outcomes, is a finding.
/// <code>
/// Unicorn.Fuzz                       fuzzing loop (under afl-fuzz)
/// Unicorn.Fuzz --run FILE...         replay inputs, print each outcome, exit 1 on a finding
/// Unicorn.Fuzz --seeds CORPUS OUT    write the Gunicorn corpus as seed inputs
/// </code>
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "--run")
        {
            var failed = 0;
            foreach (var file in args.Skip(1))
            {
                try
                {
                    Console.WriteLine($"{file}: {Check(File.ReadAllBytes(file))}");
                }
                catch (Exception e)
                {
                    failed++;
                    Console.WriteLine($"{file}: FINDING {e}");
                }
            }
            return failed == 0 ? 0 : 1;
        }
        if (args.Length == 3 && args[0] == "--seeds")
        {
            return WriteSeeds(args[1], args[2]);
        }
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            Check(copy.ToArray());
        });
        return 0;
    }

    /// <summary>Runs one input three ways; throws on a finding, returns the outcome otherwise.</summary>
    public static string Check(byte[] input) => DifferentialCheck.Check(input);

    private static int WriteSeeds(string corpus, string output)
    {
        Directory.CreateDirectory(output);
        var n = 0;
        foreach (var http in Directory.EnumerateFiles(corpus, "*.http", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var json = File.ReadAllText(Path.ChangeExtension(http, ".json"));
            // Settings byte: obs-fold and PROXY on where the case needs them.
            byte settings = 0;
            if (json.Contains("\"permit_obsolete_folding\": true", StringComparison.Ordinal))
            {
                settings |= 1;
            }
            if (json.Contains("\"proxy_protocol\"", StringComparison.Ordinal))
            {
                settings |= 2;
            }
            var data = Decode(File.ReadAllBytes(http));
            var name = Path.GetFileName(Path.GetDirectoryName(http)) + "_" + Path.GetFileNameWithoutExtension(http);
            File.WriteAllBytes(Path.Combine(output, name), [settings, .. data]);
            n++;
        }
        Console.WriteLine($"{n} seeds written to {output}");
        return n > 0 ? 0 : 1;
    }

    // The corpus README's decoding (as the corpus tests do).
    private static byte[] Decode(byte[] file)
    {
        var text = Encoding.Latin1.GetString(file).Replace("\n", "", StringComparison.Ordinal)
            .Replace("\\r\\n", "\r\n", StringComparison.Ordinal).Replace("\\0", "\0", StringComparison.Ordinal)
            .Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\t", "\t", StringComparison.Ordinal);
        var bytes = new List<byte>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 3 < text.Length && text[i + 1] == 'x'
                && byte.TryParse(text.AsSpan(i + 2, 2), System.Globalization.NumberStyles.HexNumber, null, out var b))
            {
                bytes.Add(b);
                i += 3;
                continue;
            }
            bytes.Add((byte)text[i]);
        }
        return [.. bytes];
    }
}
