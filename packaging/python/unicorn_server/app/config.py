"""The config module (-c python:unicorn_server.app.config) the master runs for BaseApplication.run().

It reads what run() set (UNICORN_BASE_APPLICATION) back into settings: plain values as they are, callables
by importing module:name, with the directories those imports need on sys.path and in pythonpath (so the
workers import the app from there too).
"""
import importlib as _importlib
import json as _json
import os as _os
import sys as _sys

_spec = _json.loads(_os.environ["UNICORN_BASE_APPLICATION"])
for _path in reversed(_spec["path"]):
    if _path not in _sys.path:
        _sys.path.insert(0, _path)


def _resolve(reference):
    module, _, name = reference.partition(":")
    obj = _importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


globals().update(_spec["values"])
for _name, _reference in _spec["references"].items():
    globals()[_name] = _resolve(_reference)

_extra = [p for p in _spec["path"]]
if _extra:
    _given = globals().get("pythonpath")
    _given = [p for p in (_given or "").split(",") if p.strip()]
    pythonpath = ",".join(_given + [p for p in _extra if p not in _given])

if "server" in _spec:
    # The script set gunicorn.SERVER: set it here, where the master looks for it after its config module ran.
    import gunicorn as _gunicorn

    _gunicorn.SERVER = _spec["server"]
