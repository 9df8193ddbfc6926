namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// How to start the dirty arbiter: a plain Python interpreter running Unicorn's dirty module, whose source
/// the program carries (Unicorn.PythonBridge's <c>Python/unicorn_dirty.py</c>).
/// </summary>
/// <param name="PythonExecutable">The interpreter that runs the app; null when only a libpython was found.</param>
/// <param name="Source">The dirty module's Python source.</param>
public sealed record DirtyArbiterLaunch(string? PythonExecutable, string Source);
