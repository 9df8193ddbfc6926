"""A long poll as FastAPI and Starlette users write it: wait for news until the client goes away, writing nothing."""

import asyncio

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

GONE = []


async def poll(request):
    # Starlette's docs: is_disconnected() in a loop. Nothing is written before the client leaves.
    for _ in range(600):
        if await request.is_disconnected():
            GONE.append(request.url.path)
            return PlainTextResponse("gone")
        await asyncio.sleep(0.05)
    return PlainTextResponse("no news")


async def once(request):
    # Asks once, then answers: the connection's next request must not be disturbed by the asking.
    return PlainTextResponse("connected" if not await request.is_disconnected() else "gone")


async def gone(request):
    return PlainTextResponse(str(len(GONE)))


app = Starlette(routes=[Route("/poll", poll), Route("/once", once), Route("/gone", gone)])
