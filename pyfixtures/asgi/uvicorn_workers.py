"""A uvicorn worker configured as uvicorn's docs show: a subclass setting CONFIG_KWARGS.

Unicorn reads the class from this file's source; uvicorn (and Gunicorn, which its worker module imports) need not be
installed for it.
"""
from uvicorn.workers import UvicornWorker


class Configured(UvicornWorker):
    CONFIG_KWARGS = {"loop": "asyncio", "http": "h11", "lifespan": "off", "root_path": "/sub"}
