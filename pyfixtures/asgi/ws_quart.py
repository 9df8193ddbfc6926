"""A Quart app as its docs write one: the websocket is accepted implicitly, and Quart reads the client's messages in a
task of its own that calls receive() before the handler has answered the handshake."""

from quart import Quart, websocket

app = Quart(__name__)


@app.route("/")
async def index():
    return "quart"


@app.websocket("/ws")
async def ws():
    while True:
        data = await websocket.receive()
        await websocket.send(f"quart: {data}")


@app.websocket("/refused")
async def refused():
    await websocket.close(1000)  # before any send or receive: refused, no websocket opens
