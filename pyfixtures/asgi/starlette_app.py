"""Starlette with a lifespan that yields state (Starlette 0.26+): every request sees a copy of it."""

import contextlib

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route


@contextlib.asynccontextmanager
async def lifespan(app):
    print("lifespan: startup", flush=True)
    yield {"db": "connected", "counter": 41}
    print("lifespan: shutdown ran", flush=True)


async def state(request):
    return JSONResponse({"db": request.state.db, "counter": request.state.counter + 1})


async def echo(request):
    return PlainTextResponse(await request.body())


async def download(request):
    return FileResponse(request.query_params["path"])


app = Starlette(routes=[Route("/state", state), Route("/echo", echo, methods=["POST"]), Route("/file", download)],
                lifespan=lifespan)
