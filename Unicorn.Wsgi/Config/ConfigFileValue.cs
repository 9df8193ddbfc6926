namespace Unicorn.Wsgi.Config;

// Python values from a config file that have no plain C# counterpart. Plain values arrive as
// null, bool, long, double, string, IReadOnlyList<object?> and IReadOnlyDictionary<string, object?>.

/// <summary>A callable global of the config file (function, method, callable object).</summary>
/// <param name="QualifiedName">Its <c>__qualname__</c>, for <c>--print-config</c>.</param>
/// <param name="Arity">Its positional parameter count as Gunicorn counts it, or -1 when it cannot be known.</param>
public sealed record PythonCallable(string QualifiedName, int Arity);

/// <summary>A class object (e.g. <c>worker_class = MyWorker</c>), named <c>module.QualName</c>.</summary>
public sealed record PythonClass(string FullName);

/// <summary>Any other Python object; only its type and repr survive, for error messages.</summary>
public sealed record PythonObject(string TypeName, string Repr);
