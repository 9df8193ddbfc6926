"""What Gunicorn's Config.set does to a value before it keeps it, for unicorn_server's cfg.

Each setting names its validator in the unicorn program's settings table (`name validator = default`, printed by
`--print-config` with UNICORN_PRINT_CONFIG_VALIDATORS set); this module maps those names to functions that convert
and check a value as Gunicorn 26.1's validator of that name does, raising with the same message, so a script
reads back what it would read under Gunicorn and a bad value stops in load_config with Gunicorn's words.
The master validates again, with Unicorn's own rules, the value run() hands it.
"""
import glob
import inspect
import ipaddress
import os
import re
import ssl
import sys
import warnings


class ConfigError(Exception):
    """gunicorn.errors.ConfigError's counterpart: a value that names something that does not exist."""


def to_bool(value):
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise TypeError("Invalid type for casting: %s" % value)
    word = value.lower().strip()
    if word in ("true", "false"):
        return word == "true"
    raise ValueError("Invalid boolean: %s" % value)


def to_dict(value):
    if isinstance(value, dict):
        return value
    raise TypeError("Value is not a dictionary: %s " % value)


def _to_int(value):
    # An int (a bool too) as it is; anything else as Python's int(value, 0) reads it ("0o22", "0x10", "12").
    return int(value) if isinstance(value, int) else int(value, 0)


def to_pos_int(value):
    number = _to_int(value)
    if number < 0:
        raise ValueError("Value must be positive: %s" % number)
    return number


def to_http2_frame_size(value):
    number = _to_int(value)
    if not 16384 <= number <= 16777215:
        raise ValueError("http2_max_frame_size must be between 16384 and 16777215, got %s" % number)
    return number


def to_string(value):
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("Not a string: %s" % value)
    return value.strip()


def to_list_string(value):
    if not value:
        return []
    if isinstance(value, str):  # one value given alone
        value = [value]
    return [to_string(item) for item in value]


def to_comma_list(value):
    text = to_string(value)
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part]


def to_address_list(value):
    addresses = to_comma_list(value)
    for address in addresses:
        if address != "*":
            ipaddress.ip_network(address)  # strict: host bits set is an error, with ipaddress's message
    return addresses


def to_files_or_patterns(value):
    entries = to_list_string(value)
    for entry in entries:
        if re.search(r"[*?[]", entry) is None:
            if not os.path.exists(entry):
                raise ValueError("File %s does not exists." % entry)
        elif not glob.glob(entry, recursive=True):
            warnings.warn("Pattern %s currently matches no files." % entry, RuntimeWarning, stacklevel=3)
    return entries


def to_class(value):
    if inspect.isfunction(value) or inspect.ismethod(value):
        value = value()  # a factory that returns the class
    return value if inspect.isclass(value) else to_string(value)


def arity(function):
    """How many positional parameters function takes (Gunicorn's util.get_arity)."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in inspect.signature(function).parameters.values() if p.kind in kinds)


def _import_callable(value):
    if isinstance(value, str):
        module_name, dot, name = value.rpartition(".")
        if not dot:
            raise TypeError("Value '%s' is not import string. Format: module[.submodules...].object" % value)
        try:
            value = getattr(__import__(module_name, fromlist=[name]), name)
        except ImportError as e:
            raise TypeError(str(e))
        except AttributeError:
            raise TypeError("Can not load '%s' from '%s'" % (name, module_name))
    if not callable(value):
        raise TypeError("Value is not callable: %s" % value)
    return value


def to_callable(expected_arity):
    def validate(value):
        function = _import_callable(value)
        if arity(function) != expected_arity:
            raise TypeError("Value must have an arity of: %s" % expected_arity)
        return function
    return validate


def to_post_request(value):
    hook = _import_callable(value)
    # Gunicorn calls it with (worker, req, environ, resp); one taking fewer gets the first ones.
    given = arity(hook)
    if given == 4:
        return hook
    if given == 3:
        return lambda worker, req, environ, _resp: hook(worker, req, environ)
    if given == 2:
        return lambda worker, req, _environ, _resp: hook(worker, req)
    raise TypeError("Value must have an arity of: 4")


def _to_id(value, current, lookup, what):
    if value is None:
        return current()
    if isinstance(value, int):
        return value
    if value.isdigit():
        return int(value)
    try:
        return lookup(value)
    except KeyError:
        raise ConfigError("No such %s: '%s'" % (what, value))


def to_user(value):
    import pwd

    return _to_id(value, os.geteuid, lambda name: pwd.getpwnam(name).pw_uid, "user")


def to_group(value):
    import grp

    return _to_id(value, os.getegid, lambda name: grp.getgrnam(name).gr_gid, "group")


def _cwd():
    # $PWD when it is the current directory (keeps the symlinked path the user typed), as Gunicorn's util.getcwd.
    try:
        here, pwd = os.stat(os.getcwd()), os.stat(os.environ["PWD"])
        if (here.st_ino, here.st_dev) == (pwd.st_ino, pwd.st_dev):
            return os.environ["PWD"]
    except (KeyError, OSError):
        pass
    return os.getcwd()


def to_chdir(value):
    value = to_string(value)
    path = os.path.abspath(os.path.normpath(os.path.join(_cwd(), value)))
    if not os.path.exists(path):
        raise ConfigError("can't chdir to %r" % value)
    return path


def parse_address(text, default_port="8000"):
    """A bind address as Gunicorn's util.parse_address reads it: a unix socket's path, an fd number, or (host, port)."""
    if re.match(r"unix:(//)?", text):
        return re.split(r"unix:(//)?", text)[-1]
    if text.startswith("fd://"):
        try:
            return int(text[5:])
        except ValueError:
            raise RuntimeError("%r is not a valid file descriptor." % text[5:]) from None
    if text.startswith("tcp://"):
        text = text.split("tcp://")[1]
    host, port = text, default_port
    if "[" in text and "]" in text:
        host = text.split("]")[0][1:]
        port = (text.split("]:") + [default_port])[1]
    elif ":" in text:
        host, port = (text.split(":") + [default_port])[:2]
    elif text == "":
        host = "0.0.0.0"
    try:
        port = int(port)
    except ValueError:
        raise RuntimeError("%r is not a valid port number." % port)
    return host.lower(), port


def to_statsd_address(value):
    value = to_string(value)
    if value is None:
        return None
    legacy = re.match(r"^unix:(\d+)$", value)  # unix:PORT is the host "unix", as before Gunicorn 20
    if legacy:
        return ("unix", int(legacy.group(1)))
    try:
        return parse_address(value, default_port="8125")
    except RuntimeError:
        raise TypeError("Value must be one of ('host:port', 'unix://PATH')")


def to_reload_engine(value):
    if value not in ("auto", "poll", "inotify"):
        raise ConfigError("Invalid reload_engine: %r" % value)
    return value


def to_ssl_version(value):
    if value != ssl.PROTOCOL_TLS:
        sys.stderr.write("Warning: option `ssl_version` is deprecated and it is ignored. Use ssl_context instead.\n")
    return value


def to_proxy_protocol(value):
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "auto" if value else "off"
    if not isinstance(value, str):
        raise TypeError("proxy_protocol must be string or bool")
    modes = {"off": "off", "false": "off", "0": "off", "none": "off",
             "auto": "auto", "true": "auto", "1": "auto", "v1": "v1", "v2": "v2"}
    try:
        return modes[value.lower().strip()]
    except KeyError:
        raise ValueError("proxy_protocol must be: off, v1, v2, or auto")


def to_http_protocols(value):
    if value is None:
        return ["h1"]
    if not isinstance(value, str):
        raise TypeError("http_protocols must be a string")
    protocols = [p.strip().lower() for p in value.split(",") if p.strip()]
    for protocol in protocols:
        if protocol not in ("h1", "h2", "h3"):
            raise ValueError("Invalid protocol '%s'. Valid protocols: h1, h2, h3" % protocol)
    if len(set(protocols)) != len(protocols):
        raise ValueError("Duplicate protocols specified")
    return protocols or ["h1"]


def to_header_map(value):
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("Invalid type for casting: %s" % value)
    word = value.lower().strip()
    if word not in ("drop", "refuse", "dangerous"):
        raise ValueError("Invalid header map behaviour: %s" % value)
    return word


def _choice(choices, what):
    def validate(value):
        if value is None:
            return "auto"
        if not isinstance(value, str):
            raise TypeError("Invalid type for casting: %s" % value)
        word = value.lower().strip()
        if word not in choices:
            raise ValueError("Invalid %s: %s" % (what, word))
        return word
    return validate


def to_http_parser(value):
    if value is None:
        return "auto"
    if not isinstance(value, str):
        raise TypeError("http_parser must be a string")
    word = value.lower().strip()
    if word not in ("auto", "fast", "python"):
        raise ValueError("http_parser must be one of: auto, fast, python")
    return word


VALIDATORS = {
    "bool": to_bool,
    "dict": to_dict,
    "pos_int": to_pos_int,
    "http2_frame_size": to_http2_frame_size,
    "string": to_string,
    "list_string": to_list_string,
    "comma_list": to_comma_list,
    "address_list": to_address_list,
    "files_or_patterns": to_files_or_patterns,
    "class": to_class,
    "post_request": to_post_request,
    "user": to_user,
    "group": to_group,
    "chdir": to_chdir,
    "statsd_address": to_statsd_address,
    "reload_engine": to_reload_engine,
    "ssl_version": to_ssl_version,
    "proxy_protocol": to_proxy_protocol,
    "http_protocols": to_http_protocols,
    "header_map": to_header_map,
    "asgi_loop": _choice(("auto", "asyncio", "uvloop"), "ASGI loop"),
    "asgi_lifespan": _choice(("auto", "on", "off"), "ASGI lifespan"),
    "http_parser": to_http_parser,
}


def validator(name):
    """The function for a validator name the unicorn program printed ("callable:2" is a hook taking 2 arguments)."""
    if name.startswith("callable:"):
        return to_callable(int(name.partition(":")[2]))
    try:
        return VALIDATORS[name]
    except KeyError:
        raise RuntimeError("the unicorn program names a validator unicorn_server does not know: %s "
                           "(is unicorn_server from another version?)" % name) from None
