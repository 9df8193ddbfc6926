"""Python logging pieces for the log-config tests: a custom handler class named by a dictConfig, and an
app that prints (for --capture-output)."""

import logging
import sys


class RecordFileHandler(logging.Handler):
    """Writes logger|level|message|status-atom per record, to show the record's name, level, message and
    (for access records) the atoms dict Gunicorn passes as args."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def emit(self, record):
        atoms = record.args if isinstance(record.args, dict) else {}
        line = "%s|%s|%s|%s\n" % (record.name, record.levelname, record.getMessage(), atoms.get("s", ""))
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)


def printing_app(environ, start_response):
    print("captured print from the app", flush=True)
    sys.stderr.write("captured stderr from the app\n")
    sys.stderr.flush()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
