"""FastAPI's tutorial app ("First Steps", "Path/Query Parameters", "Request Body"), as its users write it,
plus a few routes the ASGI tests read. Served as `unicorn -k uvicorn.workers.UvicornWorker main:app`."""

import asyncio
import hashlib

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    description: str | None = None
    price: float
    tax: float | None = None


app = FastAPI()
started = []
disconnects = []
busy_sent = [0]
BUSY_CHUNKS = 200_000  # 12.5 GiB: more than any client here reads


@app.on_event("startup")
async def startup():
    started.append("startup")


@app.get("/")
async def root():
    return {"message": "Hello World"}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@app.post("/items/")
async def create_item(item: Item):
    item_dict = item.dict()
    if item.tax:
        item_dict.update({"price_with_tax": item.price + item.tax})
    return item_dict


notified = []


async def write_notification(email: str):
    # FastAPI's "Background Tasks" tutorial, with the slow part made explicit.
    await asyncio.sleep(4)
    notified.append(email)


@app.post("/send-notification/{email}")
async def send_notification(email: str, background_tasks: BackgroundTasks):
    background_tasks.add_task(write_notification, email)
    return {"message": "Notification sent in the background"}


@app.get("/notified")
async def read_notified():
    return {"notified": notified}


@app.get("/started")
async def read_started():
    return {"started": started}


@app.get("/scope")
async def read_scope(request: Request):
    scope = request.scope
    return {
        "root_path": scope["root_path"], "path": scope["path"], "raw_path": scope["raw_path"].decode(),
        "query_string": scope["query_string"].decode(), "http_version": scope["http_version"],
        "scheme": scope["scheme"], "client": list(scope["client"]), "server": list(scope["server"]),
        "asgi": scope["asgi"], "extensions": sorted(scope.get("extensions", {})),
    }


@app.post("/upload")
async def upload(request: Request):
    total = 0
    chunks = 0
    async for chunk in request.stream():
        total += len(chunk)
        chunks += 1
    return {"bytes": total, "chunks": chunks}


@app.post("/digest")
async def digest(request: Request):
    """The body's SHA-256 and how many http.request events brought it (one for a body read before the app ran)."""
    body = b""
    events = 0
    async for chunk in request.stream():
        body += chunk
        events += 1 if chunk else 0
    return {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest(), "events": events}


@app.get("/stream")
async def stream(n: int = 5):
    async def lines():
        for i in range(n):
            yield "line %d\n" % i
            await asyncio.sleep(0)
    return StreamingResponse(lines(), media_type="text/plain")


@app.get("/sse")
async def sse(n: int = 3):
    async def events():
        for i in range(n):
            yield "data: event %d\n\n" % i
    return StreamingResponse(events(), media_type="text/event-stream")


@app.get("/forever")
async def forever(request: Request):
    async def ticks():
        try:
            while True:
                yield b"x" * 65536
                await asyncio.sleep(0.01)
        finally:
            disconnects.append(1)
    return StreamingResponse(ticks(), media_type="application/octet-stream")


@app.get("/busy")
async def busy():
    # A producer that never awaits: only the server's send() can give the loop a turn to see the client leave.
    async def chunks():
        while busy_sent[0] < BUSY_CHUNKS:
            busy_sent[0] += 1
            yield b"x" * 65536
    busy_sent[0] = 0
    return StreamingResponse(chunks(), media_type="application/octet-stream")


@app.get("/busy-sent")
async def read_busy_sent():
    return {"sent": busy_sent[0]}


@app.get("/disconnects")
async def read_disconnects():
    return {"disconnects": len(disconnects)}
