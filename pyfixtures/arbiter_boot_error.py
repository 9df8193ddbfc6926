"""Raises while being imported: the worker cannot boot (exit status 3)."""

raise RuntimeError("arbiter_boot_error: broken at import time")
