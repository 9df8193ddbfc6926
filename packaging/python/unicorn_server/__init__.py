"""Unicorn, a drop-in replacement for Gunicorn with a C# engine: the binary and its launcher."""
import os
import sys

# packaging/build-wheel writes the release's version here.
__version__ = "0+source"

BINARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "unicorn")


def main():
    """Runs the server in this process (exec: same pid for systemd and supervisor, signals go straight to it)."""
    env = dict(os.environ)
    # Serve with the interpreter running this script: the virtualenv's, even when it is not activated.
    env.setdefault("UNICORN_PYTHON", sys.executable)
    os.execve(BINARY, [sys.argv[0]] + sys.argv[1:], env)
