"""Hostile HTTP/2 clients, frame by frame (python3-hpack for header blocks, everything else raw).

usage: h2_hostile.py PORT CASE...   (TLS with ALPN h2 on 127.0.0.1)
       h2_hostile.py PORT stalled_readers T...   (an HTTP/2 stream with its window shut and an HTTP/1.1-over-TLS
                                                 client that reads nothing, both asking for /large; then a normal
                                                 HTTP/1.1 request at each T seconds: "t=<s> normal=<status>",
                                                 then what the HTTP/2 stream got)
       h2_hostile.py PORT streamed PATH   (prints when each DATA frame of PATH's response arrived)
       h2_hostile.py PORT idle_eviction N   (N idle connections held, then one more: what the idle ones get)
For each case prints one line: "CASE answer=<what the server sent> normal=<status of a normal request made
right after, on a new connection> seconds=<how long that normal request took>", where ended is the GOAWAY
that ended the connection, "closed" or "timeout" (ended equals answer when the first answer ended it).
"""
import socket
import ssl
import struct
import sys
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 1, 4, 1
ERRORS = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR", 6: "FRAME_SIZE_ERROR",
          7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR", 11: "ENHANCE_YOUR_CALM"}


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def connect(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
    sock.sendall(PREFACE + frame(SETTINGS, 0, 0))
    return sock


def request_block(encoder, path="/", method="GET", extra=()):
    return encoder.encode([(":method", method), (":scheme", "https"), (":authority", "localhost"), (":path", path), *extra])


def read_frames(sock, until, seconds=10):
    """Reads frames until until(kind, flags, stream, payload) is true, the peer closes, or time runs out."""
    buf = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            kind, flags = buf[3], buf[4]
            stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            payload = buf[9:9 + length]
            buf = buf[9 + length:]
            result = until(kind, flags, stream, payload)
            if result:
                return result
        try:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            chunk = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return "timeout"
        except (ConnectionError, ssl.SSLError, OSError):
            return "closed"
        if not chunk:
            return "closed"
        buf += chunk
    return "timeout"


def answerer():
    """What the server said in a frame, for one connection: its header blocks share one HPACK dynamic table, so
    a response's headers may refer to an entry an earlier response on the connection added."""
    decoder = hpack.Decoder()

    def answer(kind, flags, stream, payload):
        if kind == GOAWAY:
            return "GOAWAY " + ERRORS.get(int.from_bytes(payload[4:8], "big"), "?")
        if kind == RST_STREAM:
            return "RST_STREAM " + ERRORS.get(int.from_bytes(payload[:4], "big"), "?")
        if kind == HEADERS and stream:
            status = dict(decoder.decode(payload)).get(":status")
            if status and status != "200":
                return "status " + status
        return None

    return answer


def normal(port):
    started = time.monotonic()
    sock = connect(port)
    sock.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(hpack.Encoder())))
    decoder = hpack.Decoder()

    def status(kind, flags, stream, payload):
        if kind == HEADERS and stream == 1:
            return dict(decoder.decode(payload)).get(":status")
        return None

    result = read_frames(sock, status)
    sock.close()
    return result, time.monotonic() - started


def send_all(sock, data):
    try:
        sock.sendall(data)
    except (ConnectionError, ssl.SSLError, OSError):
        pass


def rapid_reset(sock):
    enc = hpack.Encoder()
    burst = b"".join(frame(HEADERS, END_STREAM | END_HEADERS, sid, request_block(enc)) + frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
                     for sid in range(1, 20001, 2))
    send_all(sock, burst)


def continuation_flood(sock):
    enc = hpack.Encoder()
    send_all(sock, frame(HEADERS, 0, 1, request_block(enc)))
    junk = enc.encode([("x-flood", "a" * 8000)])
    for _ in range(2000):
        send_all(sock, frame(CONTINUATION, 0, 1, junk))


def settings_flood(sock):
    send_all(sock, frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 65535)) * 100000)


def ping_flood(sock):
    send_all(sock, frame(PING, 0, 0, b"12345678") * 100000)


def oversized_headers(sock):
    enc = hpack.Encoder()
    extra = [("x-big-%d" % i, "v" * 4000) for i in range(40)]  # 160 kB, over the 64 kB header list
    block = request_block(enc, extra=extra)
    first, rest = block[:16000], block[16000:]
    send_all(sock, frame(HEADERS, 0, 1, first))
    while rest:
        piece, rest = rest[:16000], rest[16000:]
        send_all(sock, frame(CONTINUATION, 0 if rest else END_HEADERS, 1, piece))


def window_overflow(sock):
    send_all(sock, frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF)))


def data_beyond_window(sock):
    # A declared body over 1 MiB is streamed to the app, and /stream never reads it: the stream's window is never
    # reopened, so the second 64 kB overflows it however fast or slow the server runs (with /echo the server's
    # reads could reopen it in time, and the case raced).
    enc = hpack.Encoder()
    send_all(sock, frame(HEADERS, END_HEADERS, 1, request_block(enc, "/stream", "POST", [("content-length", "10000000")])))
    chunk = frame(DATA, 0, 1, b"x" * 16384)
    send_all(sock, chunk * 8)  # 128 kB against a 64 kB stream window


def empty_data_flood(sock):
    # /echo waits for the body: the stream stays open, and each empty frame is read and costs the server work.
    enc = hpack.Encoder()
    send_all(sock, frame(HEADERS, END_HEADERS, 1, request_block(enc, "/echo", "POST")))
    send_all(sock, frame(DATA, 0, 1) * 100000)


def bad_hpack(sock):
    # A header block HPACK cannot decode: an indexed field whose index is an integer past 2^32.
    send_all(sock, frame(HEADERS, END_STREAM | END_HEADERS, 1, b"\xff\xff\xff\xff\xff\xff\xff\x7f"))


CASES = {f.__name__: f for f in (rapid_reset, continuation_flood, settings_flood, ping_flood, empty_data_flood,
                                 oversized_headers, window_overflow, data_beyond_window, bad_hpack)}


def streamed(port, path):
    """Prints the arrival time of each DATA frame of one response, relative to the first."""
    sock = connect(port)
    sock.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(hpack.Encoder(), path)))
    times = []

    def data(kind, flags, stream, payload):
        if kind == DATA and stream == 1 and payload:
            times.append(time.monotonic())
        return "end" if stream == 1 and flags & END_STREAM and kind in (DATA, HEADERS) else None

    read_frames(sock, data)
    sock.close()
    print(" ".join("%.3f" % (t - times[0]) for t in times), flush=True)


def idle_eviction(port, held_count):
    """Holds held_count idle connections (one request answered on each), then makes a normal request on a new
    one; prints what each held connection was sent afterwards, and the normal request's status and time."""
    held = []
    for _ in range(held_count):
        sock = connect(port)
        answer = answerer()
        sock.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(hpack.Encoder())))

        def answered(kind, flags, stream, payload, answer=answer):
            answer(kind, flags, stream, payload)  # the response's headers enter this connection's table
            return "done" if stream == 1 and flags & END_STREAM else None

        read_frames(sock, answered)
        held.append((sock, answer))
    status, seconds = normal(port)
    answers = [read_frames(sock, answer, seconds=10) for sock, answer in held]
    print("evicted=%s normal=%s seconds=%.3f" % (",".join(answers), status, seconds), flush=True)


def stalled_readers(port, times):
    """Two clients that take no response bytes hold their requests; prints what normal requests get meanwhile."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    http1 = ctx.wrap_socket(raw, server_hostname="localhost")
    http1.sendall(b"GET /large HTTP/1.1\r\nHost: localhost\r\n\r\n")
    http2 = connect(port)
    http2.sendall(frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0)))  # SETTINGS_INITIAL_WINDOW_SIZE 0: send nothing
    http2.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block(hpack.Encoder(), "/large")))
    start = time.monotonic()
    for t in times:
        time.sleep(max(0.0, start + t - time.monotonic()))
        print("t=%.0f normal=%s" % (time.monotonic() - start, http1_status(port)), flush=True)
    print("http2 stream then got: %s" % read_frames(http2, answerer(), seconds=2), flush=True)
    http1.close()


def http1_status(port):
    """The status of GET / over HTTP/1.1 and TLS, or "timeout" when none came within 3 seconds."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=3), server_hostname="localhost") as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return sock.recv(64).split(b" ")[1].decode()
    except (OSError, IndexError):
        return "timeout"


def main():
    port = int(sys.argv[1])
    if sys.argv[2] == "stalled_readers":
        stalled_readers(port, [float(t) for t in sys.argv[3:]])
        return
    if sys.argv[2] == "streamed":
        streamed(port, sys.argv[3])
        return
    if sys.argv[2] == "idle_eviction":
        idle_eviction(port, int(sys.argv[3]))
        return
    for name in sys.argv[2:]:
        sock = connect(port)
        CASES[name](sock)
        first = []
        answer = answerer()

        def until_goaway(kind, flags, stream, payload):
            # The first answer, then on to the GOAWAY that ends the connection (a rapid reset's streams are
            # refused one by one before the connection is ended).
            said = answer(kind, flags, stream, payload)
            if said and not first:
                first.append(said)
            return said if kind == GOAWAY or (said and not said.startswith("RST_STREAM")) else None

        ended = read_frames(sock, until_goaway, seconds=10)
        result = first[0] if first else ended
        sock.close()
        status, seconds = normal(port)
        print("%s answer=%s ended=%s normal=%s seconds=%.3f" % (name, result, ended, status, seconds), flush=True)


if __name__ == "__main__":
    main()
