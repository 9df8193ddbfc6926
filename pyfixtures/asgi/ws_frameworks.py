"""Websocket routes as framework users write them: a Starlette WebSocketEndpoint, a FastAPI route, a Channels consumer."""

import django
from django.conf import settings

settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], INSTALLED_APPS=["channels"], SECRET_KEY="test")
django.setup()

from channels.generic.websocket import WebsocketConsumer  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from django.urls import path  # noqa: E402
from fastapi import FastAPI, WebSocket, WebSocketDisconnect  # noqa: E402
from starlette.endpoints import WebSocketEndpoint  # noqa: E402

app = FastAPI()


@app.websocket("/fastapi/{name}")
async def fastapi_echo(websocket: WebSocket, name: str):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text("fastapi %s: %s" % (name, text))
    except WebSocketDisconnect as e:
        print("fastapi disconnect %d" % e.code, flush=True)


class ConnectionManager:
    """FastAPI's tutorial chat: a websocket joins the broadcast list once its accept() returns."""

    def __init__(self):
        self.active_connections = []

    async def connect(self, websocket: WebSocket):
        await websocket.accept()
        self.active_connections.append(websocket)

    def disconnect(self, websocket: WebSocket):
        self.active_connections.remove(websocket)

    async def broadcast(self, message: str):
        for connection in self.active_connections:
            await connection.send_text(message)


manager = ConnectionManager()


@app.websocket("/chat/{client_id}")
async def chat(websocket: WebSocket, client_id: int):
    await manager.connect(websocket)
    try:
        while True:
            data = await websocket.receive_text()
            await manager.broadcast("Client #%d says: %s" % (client_id, data))
    except WebSocketDisconnect:
        manager.disconnect(websocket)


class StarletteEcho(WebSocketEndpoint):
    encoding = "text"

    async def on_receive(self, websocket, data):
        await websocket.send_text("starlette: " + data)

    async def on_disconnect(self, websocket, close_code):
        print("starlette disconnect %d" % close_code, flush=True)


app.add_websocket_route("/starlette", StarletteEcho)


class ChannelsEcho(WebsocketConsumer):
    def receive(self, text_data=None, bytes_data=None):
        self.send(text_data="channels: " + text_data)

    def disconnect(self, code):
        print("channels disconnect %s" % code, flush=True)


channels_app = URLRouter([path("ws/", ChannelsEcho.as_asgi())])
