"""python3-websockets as the client of Unicorn's websocket tests: `ws_client.py PORT SCENARIO`, one result per line."""

import asyncio
import os
import socket
import ssl
import sys
import time

import websockets

PORT = int(sys.argv[1])
BASE = "ws://127.0.0.1:%d" % PORT


def out(*parts):
    print(*parts, flush=True)


async def closed_code(ws):
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as e:
        return (e.rcvd.code, e.rcvd.reason) if e.rcvd else (None, "")


async def echo(path="/echo", **kw):
    async with websockets.connect(BASE + path, **kw) as ws:
        await ws.send("hello")
        out("text", await ws.recv())
        await ws.send(b"\x00\xffbin")
        out("bytes", (await ws.recv()).hex())
        # Empty messages: complete in their frame header, with no payload to read.
        await ws.send("")
        await ws.send(b"")
        out("empty", repr(await ws.recv()), repr(await ws.recv()))
        out("extensions", ws.response_headers.get("sec-websocket-extensions"))


async def scenario(name):
    if name == "echo":
        await echo()
        await echo(compression=None)
        async with websockets.connect(BASE + "/echo") as ws:
            await ws.send("scope")
            out(await ws.recv())
    elif name == "hold":
        # One websocket open for a few seconds (longer than the test's max_request_time), still echoing.
        async with websockets.connect(BASE + "/echo") as ws:
            await ws.send("before")
            out("held", await ws.recv())
            await asyncio.sleep(3.5)
            await ws.send("after")
            out("held", await ws.recv())
    elif name == "pipelined":
        # Many messages sent before any echo is read: most are already buffered when the app asks for them (the
        # receive fast path), some are not; all must come back whole and in order, text as text and bytes as bytes.
        async with websockets.connect(BASE + "/echo", compression=None) as ws:
            sent = [("m%d" % i) if i % 2 else (b"b%d" % i + bytes(i % 7)) for i in range(300)]
            for m in sent:
                await ws.send(m)
            got = [await ws.recv() for _ in sent]
            out("pipelined", len(got), "in order" if got == sent else "MISMATCH %r" % [
                (a, b) for a, b in zip(sent, got) if a != b][:3])
    elif name == "subprotocol":
        async with websockets.connect(BASE + "/subprotocol", subprotocols=["chat", "superchat"]) as ws:
            out("subprotocol", ws.subprotocol, ws.response_headers.get("x-offered"))
    elif name == "client-close":
        async with websockets.connect(BASE + "/echo") as ws:
            await ws.close(4321, "done")
            out("closed by client", ws.close_code)
    elif name == "send-then-close":
        # The close frame follows the message at once: the app's next receive() finds it already read.
        async with websockets.connect(BASE + "/echo") as ws:
            await ws.send("last words")
            await ws.close(4322, "done")
            out("closed by client", ws.close_code)
    elif name == "server-close":
        async with websockets.connect(BASE + "/serverclose") as ws:
            out("server closed", *await closed_code(ws))
    elif name == "app-raises":
        async with websockets.connect(BASE + "/raise") as ws:
            out("app raised", *await closed_code(ws))
        async with websockets.connect(BASE + "/badclose") as ws:
            out("bad close", *await closed_code(ws))
    elif name == "denial":
        for path in ("/reject", "/deny"):
            try:
                async with websockets.connect(BASE + path):
                    out(path, "accepted")
            except websockets.InvalidStatusCode as e:
                out(path, e.status_code)
    elif name == "too-big":
        async with websockets.connect(BASE + "/echo", max_size=None) as ws:
            await ws.send("len" + "x" * (1024 * 1024))
            out("too big", *await closed_code(ws))
    elif name == "fragments":
        async with websockets.connect(BASE + "/echo", max_size=None) as ws:
            await ws.send(["len"] + ["y" * 65536] * 15)  # 983,043 bytes in 16 frames: under the limit
            out("fragments", await ws.recv())
            await ws.send(["len"] + ["y" * 65536] * 17)  # over 1 MiB in fragments
            out("fragments over", *await closed_code(ws))
    elif name == "ping-flood":
        async with websockets.connect(BASE + "/echo", ping_interval=None) as ws:
            waiters = [await ws.ping(str(i).encode()) for i in range(20000)]
            await asyncio.wait_for(asyncio.gather(*waiters), 60)
            out("pongs", len(waiters))
            await ws.send("after flood")
            out("echo", await ws.recv())
    elif name == "no-read":
        # A client that completes the handshake on /flood and then never reads.
        raw = socket.create_connection(("127.0.0.1", PORT))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        raw.sendall(b"GET /flood HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        out("handshake", raw.recv(12).decode())
        await asyncio.sleep(3)
        await echo()  # others are still served while it holds its websocket
        out("stalled")
        await asyncio.sleep(float(os.environ.get("HOLD", "6")))
        raw.close()
    elif name == "reset":
        # A client that takes the first frames of /flood and then resets its connection (SO_LINGER 0): the app's
        # next sends fail, as a broadcast to a chat member whose network dropped does.
        raw = socket.create_connection(("127.0.0.1", PORT))
        raw.sendall(b"GET /flood HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        out("handshake", raw.recv(12).decode())
        raw.recv(65536)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        raw.close()
        out("reset")
    elif name == "silent":
        # A half-open peer: the handshake on /echo, then nothing, not even a pong, while the app waits in receive().
        raw = socket.create_connection(("127.0.0.1", PORT))
        raw.sendall(b"GET /echo?silent HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        start = time.monotonic()
        raw.settimeout(20)
        received = b""
        try:
            while chunk := raw.recv(4096):
                received += chunk
            out("closed by server after %d s" % round(time.monotonic() - start))
        except socket.timeout:
            out("still open after 20 s")
        out("pinged", b"\x89" in received)
        raw.close()
    elif name == "idle":
        count = int(os.environ.get("COUNT", "1000"))
        sockets = []

        def connect():
            return websockets.connect(BASE + "/echo", ping_interval=None, compression=None, open_timeout=120)

        while len(sockets) < count:
            # In batches, so the handshakes overlap without overrunning the listen backlog.
            batch = min(100, count - len(sockets))
            sockets.extend(await asyncio.gather(*(connect() for _ in range(batch))))
        out("open", len(sockets))
        sys.stdin.readline()  # the test measures the worker meanwhile
        started = time.monotonic()
        async with websockets.connect(BASE + "/echo", compression=None) as ws:
            await ws.send("newcomer")
            assert await ws.recv() == "newcomer"
        out("newcomer echoed ms", int((time.monotonic() - started) * 1000))
        for ws in sockets[:: max(1, count // 20)]:
            await ws.send("still here")
            assert await ws.recv() == "still here"
        out("all answer")
        await asyncio.gather(*(ws.close() for ws in sockets))
    elif name == "frameworks":
        async with websockets.connect(BASE + "/fastapi/bob") as ws:
            await ws.send("hi")
            out(await ws.recv())
        async with websockets.connect(BASE + "/starlette") as ws:
            await ws.send("hi")
            out(await ws.recv())
    elif name == "quart":
        for i in range(3):
            async with websockets.connect(BASE + "/ws") as ws:
                for text in ("hi", "again"):
                    await ws.send(text)
                    out(await ws.recv())
        try:
            async with websockets.connect(BASE + "/refused"):
                out("refused opened")
        except websockets.exceptions.InvalidStatusCode as e:
            out("refused status", e.status_code)
    elif name == "chat":
        # The second client's connect() has returned (it has the 101), so a message sent after it must reach it.
        async with websockets.connect(BASE + "/chat/1") as a, websockets.connect(BASE + "/chat/2") as b:
            await a.send("hi")
            out("a got", await asyncio.wait_for(a.recv(), 5))
            try:
                out("b got", await asyncio.wait_for(b.recv(), 5))
            except asyncio.TimeoutError:
                out("b got nothing")
    elif name == "channels":
        async with websockets.connect(BASE + "/ws/") as ws:
            await ws.send("hi")
            out(await ws.recv())
    elif name == "wss":
        context = ssl.create_default_context(cafile=os.environ["CA"])
        context.check_hostname = False  # the test certificate names localhost; the chain is still verified
        async with websockets.connect("wss://127.0.0.1:%d/echo" % PORT, ssl=context) as ws:
            await ws.send("over tls")
            out("wss", await ws.recv())
            await ws.send("scope")
            out(await ws.recv())
    elif name == "going-away":
        async with websockets.connect(BASE + "/echo") as ws:
            out("connected")
            out("going away", *await closed_code(ws))
    else:
        raise SystemExit("unknown scenario " + name)


asyncio.run(scenario(sys.argv[2]))
