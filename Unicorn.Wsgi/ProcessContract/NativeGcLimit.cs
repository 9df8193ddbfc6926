using System.Globalization;
using System.Runtime.CompilerServices;

namespace Unicorn.Wsgi.ProcessContract;

/// <summary>
/// A native build's GC reads no <c>DOTNET_GC*</c> variable, so the hard heap limit the master put in a worker's
/// environment (<c>worker_heap_limit</c>, WorkerGcEnvironment) is applied by the worker itself as it starts. Its gen0
/// budget and region size are compiled into the build (Unicorn.Cli.csproj).
/// </summary>
public static class NativeGcLimit
{
    public static void Apply()
    {
        if (RuntimeFeature.IsDynamicCodeSupported)
        {
            return; // CoreCLR read the variables itself
        }

        var applied = Set("DOTNET_GCHeapHardLimit", "GCHeapHardLimit") || Set("DOTNET_GCHeapHardLimitPercent", "GCHeapHardLimitPercent");
        if (applied)
        {
            GC.RefreshMemoryLimit();
        }
    }

    private static bool Set(string variable, string setting)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        if (text is null)
        {
            return false;
        }

        // .NET reads these variables as hexadecimal, with or without 0x.
        var digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        if (!ulong.TryParse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value) || value == 0)
        {
            return false;
        }

        AppContext.SetData(setting, value);
        return true;
    }
}
