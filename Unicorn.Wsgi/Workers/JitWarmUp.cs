using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Compiles the request path's methods ahead of their first call (worker_spares): a parked spare pays its
/// JIT in the background, so once promoted its first requests run compiled code rather than waiting for
/// the JIT. Generic definitions are skipped (their instantiations are only known at run time).
/// </summary>
public static class JitWarmUp
{
    private const BindingFlags Declared = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic |
        BindingFlags.Instance | BindingFlags.Static;

    /// <summary>
    /// Prepares every concrete method and constructor of the top-level types <paramref name="include"/> selects,
    /// and of the types nested in them, until <paramref name="cancel"/> is set; returns how many.
    /// </summary>
    /// <remarks>Nothing to do without a JIT (the native build, compiled ahead of time): returns 0 at once.</remarks>
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "runs only with a JIT, where nothing is trimmed")]
    public static int Prepare(IEnumerable<Assembly> assemblies, Func<Type, bool> include, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(assemblies);
        ArgumentNullException.ThrowIfNull(include);
        if (!RuntimeFeature.IsDynamicCodeSupported)
        {
            return 0;
        }

        var prepared = 0;
        foreach (var type in assemblies.SelectMany(Types).Where(t => !t.ContainsGenericParameters && Selected(t, include)))
        {
            if (cancel.IsCancellationRequested)
            {
                break;
            }

            foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
            {
                if (method.IsAbstract || method.ContainsGenericParameters || (method.Attributes & MethodAttributes.PinvokeImpl) != 0)
                {
                    continue;
                }

                try
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                    prepared++;
                }
                catch (Exception e) when (e is ArgumentException or NotSupportedException or TypeLoadException or BadImageFormatException or InvalidProgramException)
                {
                    // A method the runtime will not compile ahead (a varargs or runtime-implemented one): it is
                    // compiled on its first call, as without the warm-up.
                }
            }
        }

        return prepared;
    }

    // Nested types (async state machines, closures) go with the top-level type they belong to.
    private static bool Selected(Type type, Func<Type, bool> include) =>
        type.DeclaringType is { } outer ? Selected(outer, include) : include(type);

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "runs only with a JIT (Prepare), where nothing is trimmed")]
    private static Type[] Types(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return [.. e.Types.OfType<Type>()];
        }
    }
}
