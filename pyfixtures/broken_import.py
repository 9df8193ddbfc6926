"""A module that fails while being imported (app-loading error tests)."""

raise RuntimeError("broken at import time")
