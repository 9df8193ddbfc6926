"""Websocket echo load for bench/run's asgi-ws scenario: CONNECTIONS websockets each send a 32-byte text
message and wait for its echo, for SECONDS. Prints wrk's BENCH line (requests = messages echoed).
Usage: ws_echo.py URL CONNECTIONS SECONDS"""

import asyncio
import sys
import time

import websockets


async def client(url, deadline, latencies, errors):
    try:
        async with websockets.connect(url, compression=None, ping_interval=None, max_queue=None) as ws:
            message = "x" * 32
            while time.monotonic() < deadline:
                start = time.monotonic()
                await ws.send(message)
                if await ws.recv() != message:
                    errors[0] += 1
                latencies.append(time.monotonic() - start)
    except (OSError, websockets.WebSocketException):
        errors[0] += 1


async def main(url, connections, seconds):
    latencies, errors = [], [0]
    start = time.monotonic()
    await asyncio.gather(*(client(url, start + seconds, latencies, errors) for _ in range(connections)))
    elapsed = time.monotonic() - start
    latencies.sort()
    pct = lambda p: int(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1e6) if latencies else 0
    print("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d timeouts=0 status_errors=0"
          % (len(latencies), int(elapsed * 1e6), pct(50), pct(99), errors[0]))


asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
