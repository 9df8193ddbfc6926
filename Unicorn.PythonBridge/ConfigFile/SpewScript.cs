namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// <c>--spew</c>: a trace function printing every executed line as <c>module:line: source</c>, followed by a tab and the
/// <c>name=value</c> of globals and locals the line mentions, in Gunicorn's format.
/// </summary>
internal static class SpewScript
{
    public const string FunctionName = "_unicorn_spew_install";

    public const string Source = """
import linecache
import re
import sys
import threading

_unicorn_spew_words = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _unicorn_spew_repr(value):
    # A half-built object (an import lock in its __init__, say) may fail its own repr: the trace must not raise.
    try:
        return repr(value)
    except Exception:
        return "<%s object; repr failed>" % type(value).__name__


def _unicorn_spew_trace(frame, event, arg):
    if event != "line":
        return _unicorn_spew_trace
    lineno = frame.f_lineno
    module = frame.f_globals.get("__name__", "[unknown]")
    filename = frame.f_globals.get("__file__") or frame.f_code.co_filename
    if filename.endswith((".pyc", ".pyo")):
        filename = filename[:-1]
    source = linecache.getline(filename, lineno)
    if not source:
        source = "Unknown code named [%s].  VM instruction #%d" % (frame.f_code.co_name, frame.f_lasti)
    print("%s:%s: %s" % (module, lineno, source.rstrip()))
    details = []
    for word in dict.fromkeys(_unicorn_spew_words.findall(source)):
        if word in frame.f_globals:
            details.append("%s=%s" % (word, _unicorn_spew_repr(frame.f_globals[word])))
        if word in frame.f_locals:
            details.append("%s=%s" % (word, _unicorn_spew_repr(frame.f_locals[word])))
    if details:
        print("\t%s" % " ".join(details))
    return _unicorn_spew_trace


def _unicorn_spew_install():
    sys.settrace(_unicorn_spew_trace)
    threading.settrace(_unicorn_spew_trace)
""";
}
