using System.Text;
using SharpFuzz;
using Unicorn.Wsgi.Http;
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
    public static string Check(byte[] input)
    {
        if (input.Length == 0)
        {
            return "empty";
        }
        var options = OptionsFor(input[0]);
        var data = input.AsMemory(1);
        var whole = Outcome(options, [data], () => 1 << 16);
        var bytes = Outcome(options, Pieces(data, 1), () => 1);
        var sevens = Outcome(options, Pieces(data, 7), () => 5);
        if (whole != bytes || whole != sevens)
        {
            throw new InvalidOperationException($"chunking changed the outcome:\nall at once: {whole}\nbyte by byte: {bytes}\nby sevens: {sevens}");
        }
        return whole;
    }

    private static HttpParserOptions OptionsFor(byte b) => new()
    {
        PermitObsoleteFolding = (b & 1) != 0,
        ProxyProtocol = (b & 2) != 0 ? ProxyProtocolMode.Auto : ProxyProtocolMode.Off,
        LimitRequestLine = (b & 4) != 0 ? 64 : 4094,
        LimitRequestFieldSize = (b & 4) != 0 ? 48 : 8190,
        LimitRequestFields = (b & 4) != 0 ? 4 : 100,
        PermitUnconventionalHttpMethod = (b & 8) != 0,
        CasefoldHttpMethod = (b & 16) != 0,
        StripHeaderSpaces = (b & 32) != 0,
        HeaderMap = (b & 64) != 0 ? HeaderMapPolicy.Refuse : HeaderMapPolicy.Drop,
        PermitUnconventionalHttpVersion = (b & 128) != 0,
        ForwardedAllowIps = IpAllowList.Parse("*"),
    };

    private static List<ReadOnlyMemory<byte>> Pieces(ReadOnlyMemory<byte> data, int size)
    {
        var pieces = new List<ReadOnlyMemory<byte>>();
        for (var i = 0; i < data.Length; i += size)
        {
            pieces.Add(data.Slice(i, Math.Min(size, data.Length - i)));
        }
        return pieces;
    }

    private static string Outcome(HttpParserOptions options, List<ReadOnlyMemory<byte>> pieces, Func<int> readSize)
    {
        try
        {
            var requests = ConnectionSimulator.Run(options, pieces, readSize);
            var sb = new StringBuilder();
            foreach (var r in requests)
            {
                sb.Append(r.Method).Append(' ').Append(r.RawTarget).Append(' ').Append(r.Path).Append('?').Append(r.Query)
                    .Append('#').Append(r.Fragment).Append(' ').Append(r.Major).Append('.').Append(r.Minor).Append(" [")
                    .AppendJoin(", ", r.Headers.Select(h => h.Key + ": " + h.Value)).Append("] body ")
                    .Append(Convert.ToHexString(r.Body)).Append(" [").AppendJoin(", ", r.Trailers.Select(h => h.Key + ": " + h.Value))
                    .Append("] keep-alive ").Append(r.KeepAlive).Append(' ').Append(r.Proxy).Append('\n');
            }
            return sb.ToString();
        }
        catch (BadHttpRequestException e)
        {
            // The error page must build for every rejection.
            _ = e.BuildResponse();
            return $"rejected {e.Reason} {e.StatusCode} {e.GunicornError}";
        }
    }

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
