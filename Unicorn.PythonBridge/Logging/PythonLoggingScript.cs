namespace Unicorn.PythonBridge.Logging;

/// <summary>
/// The Python half of <see cref="PythonLogging"/>: sets up <c>gunicorn.error</c> and <c>gunicorn.access</c> the
/// way Gunicorn's default logger does (its handlers on --error-logfile and --access-logfile, its formats),
/// then applies the user's configuration over Gunicorn's defaults.
/// </summary>
internal static class PythonLoggingScript
{
    public const string Source = """
import json
import logging
import logging.config
import os
import sys

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


def _unicorn_log_handler(logger, target, stream, formatter):
    handler = logging.StreamHandler(stream) if target == "-" else logging.FileHandler(target)
    handler.setFormatter(formatter)
    logger.addHandler(handler)


def _unicorn_log_setup(kind, source, loglevel, errorlog, accesslog):
    error = logging.getLogger("gunicorn.error")
    access = logging.getLogger("gunicorn.access")
    error.propagate = False
    access.propagate = False
    error.setLevel(getattr(logging, loglevel.upper(), logging.INFO))
    access.setLevel(logging.INFO)
    _unicorn_log_handler(error, errorlog, sys.stderr,
                         logging.Formatter("%(asctime)s [%(process)d] [%(levelname)s] %(message)s", "[%Y-%m-%d %H:%M:%S %z]"))
    if accesslog is not None:
        _unicorn_log_handler(access, accesslog, sys.stdout, logging.Formatter("%(message)s"))
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


def _unicorn_log_error(level, message):
    logging.getLogger("gunicorn.error").log(level, message)


def _unicorn_log_access(line, atoms):
    # The record's args are the atoms, as Gunicorn logs them; the line has its '%' doubled so that
    # getMessage() gives it back unchanged.
    logging.getLogger("gunicorn.access").info(line.replace("%", "%%"), atoms)


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
""";
}
