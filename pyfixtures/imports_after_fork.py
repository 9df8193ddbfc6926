"""What a forked worker adds after the fork: the modules it imports, and the malloc arenas it uses.

Imported with --preload (in the zygote): the snapshot of sys.modules is retaken in each forked child."""

import ctypes
import os
import sys
import types

_AT_FORK = set(sys.modules)


def _snapshot():
    global _AT_FORK
    _AT_FORK = set(sys.modules)


os.register_at_fork(after_in_child=_snapshot)


def _malloc_arenas():
    """glibc's malloc_info() writes one <heap nr=...> element per arena."""
    libc = ctypes.CDLL(None)
    libc.open_memstream.restype = ctypes.c_void_p
    libc.open_memstream.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)]
    buffer, size = ctypes.c_char_p(), ctypes.c_size_t()
    stream = libc.open_memstream(ctypes.byref(buffer), ctypes.byref(size))
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    text = ctypes.string_at(buffer, size.value).decode()
    libc.free(buffer)
    return text.count("<heap nr=")


def _from_zygote(module_name, file):
    """Whether the worker executed Unicorn's module from the code object the zygote compiled before the fork: its
    functions' code objects are then the very constants of that code, not ones of a compile of its own."""
    module = sys.modules.get(module_name)
    entry = getattr(sys.modules.get("_unicorn_precompiled"), "code", {}).get(file)
    if module is None or entry is None:
        return False
    constants = {id(c) for c in entry[1].co_consts if isinstance(c, types.CodeType)}
    functions = [f for f in vars(module).values() if isinstance(f, types.FunctionType)]
    return bool(functions) and all(id(f.__code__) in constants for f in functions if f.__module__ == module.__name__)


def app(environ, start_response):
    if environ["PATH_INFO"] == "/arenas":
        body = str(_malloc_arenas()).encode()
    elif environ["PATH_INFO"] == "/precompiled":
        body = " ".join("%s=%s" % (m, _from_zygote(m, f)) for m, f in
                        (("_unicorn_bridge", "unicorn_bridge.py"), ("unicorn_dirty", "unicorn_dirty.py"))).encode()
    else:
        body = " ".join(sorted(set(sys.modules) - _AT_FORK)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
