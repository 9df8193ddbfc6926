"""The Python half of Unicorn's Python logging (Logging/PythonLogging.cs), loaded as ``_unicorn_glogging``.

With a Python log configuration (--log-config, --log-config-json, logconfig_dict), ``gunicorn.error`` and
``gunicorn.access`` are set up as Gunicorn's default logger sets them (its handlers on --error-logfile and
--access-logfile, its formats), then the user's configuration is applied over Gunicorn's defaults.

With a ``logger_class`` of the user's, that class is instantiated with the configuration, as Gunicorn does, and
every record goes through it: error records through its ``debug``...``critical`` methods, each access through
``access(resp, req, environ, request_time)``. Where Gunicorn itself is not installed, ``gunicorn.glogging`` is
this module, so ``class MyLogger(glogging.Logger)`` in a config file works unchanged.
"""
import base64
import binascii
import importlib
import importlib.util
import json
import logging
import logging.config
import os
import sys
import time
import types
from datetime import timedelta

# Gunicorn's base configuration, which the user's dict is merged into (top-level keys replace).
_unicorn_log_defaults = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": True, "qualname": "gunicorn.error"},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": True, "qualname": "gunicorn.access"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stdout"},
        "error_console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stderr"},
    },
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
            "class": "logging.Formatter",
        },
    },
}

ERROR_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
DATE_FORMAT = "[%Y-%m-%d %H:%M:%S %z]"
LOG_LEVELS = {"critical": logging.CRITICAL, "error": logging.ERROR, "warning": logging.WARNING,
              "info": logging.INFO, "debug": logging.DEBUG}

# The logger_class instance every record goes through, when the user gave one.
_logger = None
# What the user's log configuration is ((kind, source), or None), for Logger.setup to apply.
_log_config = None
# Whether that class has an exception() of its own, which Gunicorn calls inside its except block: the server then calls
# it while the app's exception is the handled one (_unicorn_log_live_exception), so sys.exc_info() works there.
_own_exception = False


def _unicorn_log_handler(logger, target, stream, formatter):
    handler = logging.StreamHandler(stream) if target == "-" else logging.FileHandler(target)
    handler.setFormatter(formatter)
    handler._unicorn = True
    logger.addHandler(handler)


def _unicorn_base_setup(loglevel, errorlog, accesslog, error_format=ERROR_FORMAT, date_format=DATE_FORMAT,
                        access_format="%(message)s"):
    error = logging.getLogger("gunicorn.error")
    access = logging.getLogger("gunicorn.access")
    for logger in (error, access):
        logger.propagate = False
        for handler in [h for h in logger.handlers if getattr(h, "_unicorn", False)]:
            logger.removeHandler(handler)  # a reload's setup replaces the last one's handlers, never stacks them
    error.setLevel(LOG_LEVELS.get(loglevel.lower(), logging.INFO))
    access.setLevel(logging.INFO)
    _unicorn_log_handler(error, errorlog, sys.stderr, logging.Formatter(error_format, date_format))
    if accesslog is not None:
        _unicorn_log_handler(access, accesslog, sys.stdout, logging.Formatter(access_format))


def _unicorn_apply_config(kind, source):
    if kind == "ini":
        defaults = {"__file__": source, "here": os.path.dirname(source)}
        logging.config.fileConfig(source, defaults=defaults, disable_existing_loggers=False)
        return
    if kind == "json":
        with open(source, encoding="utf-8") as f:
            user = json.load(f)
    else:
        user = json.loads(source)
    config = dict(_unicorn_log_defaults)
    config.update(user)
    logging.config.dictConfig(config)


def _unicorn_log_setup(kind, source, loglevel, errorlog, accesslog):
    _unicorn_base_setup(loglevel, errorlog, accesslog)
    _unicorn_apply_config(kind, source)


def _unicorn_log_setup_class(class_name, cfg, request_type, response_type, kind, source):
    """Instantiates the user's logger_class with cfg (its setup applies the log configuration, if any)."""
    global _logger, _log_config, _Request, _Response, _own_exception
    _Request, _Response = request_type, response_type
    _log_config = (kind, source) if kind else None
    module_name, _, name = class_name.rpartition(".")
    cls = getattr(importlib.import_module(module_name), name)
    _logger = cls(cfg)
    _own_exception = not _inherits_exception(_logger)
    return _own_exception


def _inherits_exception(logger):
    # Gunicorn's exception() (ours, or Gunicorn's own where it is installed) logs to error_log: no need for a live
    # exception to give the same record.
    owner = next((c for c in type(logger).__mro__ if "exception" in c.__dict__), None)
    return owner is Logger or (owner is not None and owner.__module__ == "gunicorn.glogging")


def _unicorn_log_error(level, message, exc_text=None):
    if _logger is None:
        logger = logging.getLogger("gunicorn.error")
        if exc_text is None:
            logger.log(level, message)
        else:
            _unicorn_log_exc_text(logger, level, message, exc_text)
        return
    if exc_text is not None:
        # Gunicorn calls the class's exception(), which logs to its error_log: the same record, unless the class has an
        # exception() of its own, which needs the live exception Unicorn does not have here.
        error_log = getattr(_logger, "error_log", None)
        if _inherits_exception(_logger) and isinstance(error_log, logging.Logger):
            _unicorn_log_exc_text(error_log, level, message, exc_text)
            return
        message = message + "\n" + exc_text
    method = {10: "debug", 20: "info", 30: "warning", 40: "error"}.get(level, "critical")
    getattr(_logger, method)(message)


def _unicorn_log_live_exception(message, exc_text, fmt, *args):
    """An error Gunicorn logs with ``log.exception(fmt, *args)`` in its except block, for a logger_class with an
    exception() of its own: called with the same arguments while the exception is the handled one, so the override's
    sys.exc_info(), exc_info=True or traceback.format_exc() see the app's exception."""
    if sys.exc_info()[1] is None:
        _unicorn_log_error(logging.ERROR, message, exc_text)
    else:
        _logger.exception(fmt, *args)


def _unicorn_log_exc_text(logger, level, message, exc_text):
    # Gunicorn's log.exception: the traceback is the record's, not the message's, so a JSON formatter puts it in a
    # field of its own; Formatter.format appends exc_text as it would the formatted exc_info.
    if logger.isEnabledFor(level):
        fn, lno, func, _ = logger.findCaller()
        record = logger.makeRecord(logger.name, level, fn, lno, message, None, None, func)
        record.exc_text = exc_text
        logger.handle(record)


def _unicorn_log_access(line, atoms):
    # The record's args are the atoms, as Gunicorn logs them; the line has its '%' doubled so that
    # getMessage() gives it back unchanged.
    logging.getLogger("gunicorn.access").info(line.replace("%", "%%"), atoms)


_Request = None
_Response = None


def _unicorn_log_access_record(record_json):
    """One finished request, for the logger_class's access(): Gunicorn's resp, req, environ and request_time."""
    record = json.loads(record_json)
    request_time = timedelta(microseconds=record["us"])
    try:
        _logger.access(_Response(record["resp"]), _Request(record["req"]), record["environ"], request_time)
    except Exception:
        # Gunicorn's worker logs an access() that raises as it logs a failed request, and serves on.
        _logger.exception("Error handling request %s", record["req"]["uri"])


def _unicorn_log_reopen():
    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.FileHandler):
                handler.acquire()
                try:
                    if handler.stream:
                        handler.stream.close()
                        handler.stream = handler._open()
                finally:
                    handler.release()


class SafeAtoms(dict):
    """The access line's atoms as Gunicorn hands them to the format: ``{name}i``/``o``/``e`` looked up without
    regard to case, an unknown atom is ``-``, and double quotes in text are escaped."""

    def __init__(self, atoms):
        super().__init__()
        for key, value in atoms.items():
            self[key] = value.replace('"', '\\"') if isinstance(value, str) else value

    def __getitem__(self, key):
        if key.startswith("{"):
            key = key.lower()
        return super().__getitem__(key) if key in self else "-"


class Logger:
    """Gunicorn's ``gunicorn.glogging.Logger``, the base of a config's ``logger_class``: the same attributes,
    formats and methods, so a subclass's ``setup``, ``access``, ``atoms`` or ``now`` work as under Gunicorn.
    Syslog and the capture of stdout/stderr stay Unicorn's (``--syslog``, ``--capture-output``)."""

    LOG_LEVELS = LOG_LEVELS
    loglevel = logging.INFO
    error_fmt = ERROR_FORMAT
    datefmt = DATE_FORMAT
    access_fmt = "%(message)s"
    syslog_fmt = "[%(process)d] %(message)s"
    atoms_wrapper_class = SafeAtoms

    def __init__(self, cfg):
        self.error_log = logging.getLogger("gunicorn.error")
        self.error_log.propagate = False
        self.access_log = logging.getLogger("gunicorn.access")
        self.access_log.propagate = False
        self.error_handlers = []
        self.access_handlers = []
        self.logfile = None
        self.cfg = cfg
        self.setup(cfg)

    def setup(self, cfg):
        self.cfg = cfg
        self.loglevel = self.LOG_LEVELS.get(cfg.loglevel.lower(), logging.INFO)
        _unicorn_base_setup(cfg.loglevel, cfg.errorlog, cfg.accesslog, self.error_fmt, self.datefmt, self.access_fmt)
        if _log_config is not None:
            _unicorn_apply_config(*_log_config)

    def critical(self, msg, *args, **kwargs):
        self.error_log.critical(msg, *args, **kwargs)

    def error(self, msg, *args, **kwargs):
        self.error_log.error(msg, *args, **kwargs)

    def warning(self, msg, *args, **kwargs):
        self.error_log.warning(msg, *args, **kwargs)

    def info(self, msg, *args, **kwargs):
        self.error_log.info(msg, *args, **kwargs)

    def debug(self, msg, *args, **kwargs):
        self.error_log.debug(msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        self.error_log.exception(msg, *args, **kwargs)

    def log(self, lvl, msg, *args, **kwargs):
        if isinstance(lvl, str):
            lvl = self.LOG_LEVELS.get(lvl.lower(), logging.INFO)
        self.error_log.log(lvl, msg, *args, **kwargs)

    def atoms(self, resp, req, environ, request_time):
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        sent = getattr(resp, "sent", None)
        seconds, micros = request_time.seconds, request_time.microseconds
        atoms = {
            "h": environ.get("REMOTE_ADDR", "-"),
            "l": "-",
            "u": self._get_user(environ) or "-",
            "t": self.now(),
            "r": "%s %s %s" % (environ["REQUEST_METHOD"], environ["RAW_URI"], environ["SERVER_PROTOCOL"]),
            "s": status,
            "m": environ.get("REQUEST_METHOD"),
            "U": environ.get("PATH_INFO"),
            "q": environ.get("QUERY_STRING"),
            "H": environ.get("SERVER_PROTOCOL"),
            "b": str(sent) if sent is not None else "-",
            "B": sent,
            "f": environ.get("HTTP_REFERER", "-"),
            "a": environ.get("HTTP_USER_AGENT", "-"),
            "T": seconds,
            "D": seconds * 1000000 + micros,
            "M": seconds * 1000 + micros // 1000,
            "L": "%d.%06d" % (seconds, micros),
            "p": "<%s>" % os.getpid(),
        }
        headers = req.headers.items() if hasattr(req.headers, "items") else req.headers
        atoms.update(("{%s}i" % k.lower(), v) for k, v in headers)
        headers = resp.headers.items() if hasattr(resp.headers, "items") else resp.headers
        atoms.update(("{%s}o" % k.lower(), v) for k, v in headers)
        atoms.update(("{%s}e" % k.lower(), v) for k, v in environ.items())
        return atoms

    @property
    def access_log_enabled(self):
        cfg = self.cfg
        return bool(cfg.accesslog or cfg.logconfig or cfg.logconfig_dict or cfg.logconfig_json
                    or (cfg.syslog and not cfg.disable_redirect_access_to_syslog))

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        try:
            self.access_log.info(self.cfg.access_log_format, atoms)
        except Exception:
            self.exception("Error formatting the access log line")

    def now(self):
        return time.strftime("[%d/%b/%Y:%H:%M:%S %z]")

    def reopen_files(self):
        _unicorn_log_reopen()

    def close_on_exec(self):
        pass  # Unicorn's processes open no log file another program inherits

    def _get_user(self, environ):
        auth = environ.get("HTTP_AUTHORIZATION")
        if not auth or not auth.lower().startswith("basic"):
            return None
        parts = auth.split(" ", 1)
        if len(parts) != 2:
            return None
        try:
            return base64.b64decode(parts[1].strip().encode("utf-8")).split(b":", 1)[0].decode("utf-8")
        except (TypeError, binascii.Error, UnicodeDecodeError) as exc:
            self.debug("Couldn't get username: %s", exc)
            return None


def install_gunicorn_alias(module):
    """Where Gunicorn is not installed, ``gunicorn.glogging`` is this module (a stand-in ``gunicorn`` package
    holds it, shared with ``gunicorn.dirty``'s); an installed Gunicorn's own module is left alone."""
    modules = sys.modules
    if "gunicorn.glogging" in modules:
        return
    package = modules.get("gunicorn")
    if package is None:
        if importlib.util.find_spec("gunicorn") is not None:
            return
        package = types.ModuleType("gunicorn")
        package.__path__ = []
        package.version_info = (26, 1, 0)
        package.__version__ = "26.1.0"
        package.SERVER = "gunicorn"  # what a config may set to change the Server header, as under Gunicorn
        package.SERVER_SOFTWARE = "gunicorn/26.1.0"
        modules["gunicorn"] = package
    elif getattr(package, "__file__", None) is not None:
        return  # the real Gunicorn, imported already
    package.glogging = module
    modules["gunicorn.glogging"] = module
