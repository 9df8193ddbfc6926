"""The attacks of bench/hostile/run: one function per hostile client, each returning what the server answered.

HTTP/2 attacks take (kind, port), kind "h2tls" (TLS with ALPN h2) or "h2c" (prior knowledge); the others take
the port. NORMAL holds, per kind, the well-formed request made after each attack on a new connection.
Stdlib only, plus python3-hpack for header blocks.
"""
import base64
import os
import socket
import ssl
import struct
import sys
import time
import zlib

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, END_HEADERS, ACK = 1, 4, 1
ERR = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR", 5: "STREAM_CLOSED",
       6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR", 11: "ENHANCE_YOUR_CALM"}
HOST = "127.0.0.1"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def raw(port, data=b"", timeout=5):
    s = socket.create_connection((HOST, port), timeout=timeout)
    if data:
        s.sendall(data)
    return s


def read_all(s, limit=1 << 20, seconds=5, until=None):
    s.settimeout(seconds)
    out = b""
    try:
        while len(out) < limit:
            b = s.recv(65536)
            if not b:
                return out, "closed"
            out += b
            if until is not None and until(out):
                return out, "done"
    except socket.timeout:
        return out, "timeout"
    except ConnectionResetError:
        return out, "reset"
    return out, "limit"


def send_quietly(s, data):
    try:
        s.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
        return False


def status_line(out):
    return out.split(b"\r\n", 1)[0].decode("latin-1")[:60] if out else ""


# ---------------------------------------------------------------- HTTP/2
def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def h2_connect(kind, port):
    if kind == "h2tls":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        s = ctx.wrap_socket(socket.create_connection((HOST, port), timeout=10), server_hostname="localhost")
        assert s.selected_alpn_protocol() == "h2"
    else:
        s = socket.create_connection((HOST, port), timeout=10)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    return s


def h2_frames(s, seconds=5):
    """Reads frames until close/timeout; returns (list of (kind, flags, stream, payload), how it ended)."""
    s.settimeout(0.5)
    buf, frames = b"", []
    deadline = time.monotonic() + seconds
    ended = "timeout"
    while time.monotonic() < deadline:
        try:
            b = s.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (ConnectionResetError, ssl.SSLError, OSError):
            ended = "reset"
            break
        if not b:
            ended = "closed"
            break
        buf += b
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            frames.append((buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + n]))
            buf = buf[9 + n:]
        if any(f[0] == GOAWAY for f in frames):
            ended = "goaway"
            break
    return frames, ended


def describe(frames, ended):
    seen = []
    for kind, flags, stream, payload in frames:
        if kind == GOAWAY:
            seen.append("GOAWAY " + ERR.get(int.from_bytes(payload[4:8], "big"), "?"))
        elif kind == RST_STREAM:
            seen.append(f"RST({stream}) " + ERR.get(int.from_bytes(payload[:4], "big"), "?"))
        elif kind == HEADERS:
            seen.append(f"HEADERS({stream})")
    # collapse repeats
    out = []
    for x in seen:
        if out and out[-1][0] == x:
            out[-1][1] += 1
        else:
            out.append([x, 1])
    return ",".join(f"{x}x{n}" if n > 1 else x for x, n in out[:8]) + f" [{ended}]"


def req(enc, path="/", extra=(), scheme="https"):
    return enc.encode([(":method", "GET"), (":scheme", scheme), (":authority", "localhost"), (":path", path), *extra])


def h2_hpack_bomb(kind, port):
    # One 4 KiB header inserted in the dynamic table, then referenced by index thousands of times:
    # a 16 KiB frame that decodes to megabytes.
    s = h2_connect(kind, port)
    enc = hpack.Encoder()
    block = req(enc, "/", [("x-bomb", "a" * 4000)])
    s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, block))
    # index 62 = most recent dynamic entry
    bomb = req(enc, "/") + bytes([0xBE]) * 16000
    s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 3, bomb[:16384]))
    return describe(*h2_frames(s))


def h2_even_stream(kind, port):
    s = h2_connect(kind, port)
    s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 2, req(hpack.Encoder())))
    return describe(*h2_frames(s))


def h2_stream_reuse(kind, port):
    s = h2_connect(kind, port)
    enc = hpack.Encoder()
    s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 5, req(enc)))
    time.sleep(0.3)
    s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 3, req(enc)))  # lower than one already used
    return describe(*h2_frames(s))


def h2_data_on_closed(kind, port):
    s = h2_connect(kind, port)
    enc = hpack.Encoder()
    s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, req(enc)))
    time.sleep(0.3)
    s.sendall(frame(DATA, 0, 1, b"x" * 100) * 50)
    return describe(*h2_frames(s))


def h2_data_idle_stream(kind, port):
    s = h2_connect(kind, port)
    s.sendall(frame(DATA, 0, 7, b"x" * 100))
    return describe(*h2_frames(s))


def h2_oversized_frame(kind, port):
    s = h2_connect(kind, port)
    send_quietly(s, frame(HEADERS, END_HEADERS, 1, req(hpack.Encoder(), "/echo", [("content-length", "100000")]))
                 + frame(DATA, 0, 1, b"x" * 100000))
    return describe(*h2_frames(s))


def h2_huge_length_header(kind, port):
    # A frame header announcing 16 MiB, then nothing: must not be buffered/allocated up front.
    s = h2_connect(kind, port)
    s.sendall(b"\xff\xff\xff" + bytes([DATA, 0]) + struct.pack(">I", 1))
    return describe(*h2_frames(s))


def h2_settings_bad(kind, port):
    s = h2_connect(kind, port)
    # initial window size > 2^31-1, max frame size too small, enable_push=2
    s.sendall(frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0x80000000)))
    return describe(*h2_frames(s))


def h2_window_update_zero(kind, port):
    s = h2_connect(kind, port)
    s.sendall(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)))
    return describe(*h2_frames(s))


def h2_priority_self(kind, port):
    s = h2_connect(kind, port)
    s.sendall(frame(PRIORITY, 0, 1, struct.pack(">IB", 1, 16)))
    return describe(*h2_frames(s))


def h2_push_promise(kind, port):
    s = h2_connect(kind, port)
    s.sendall(frame(PUSH_PROMISE, END_HEADERS, 1, struct.pack(">I", 2) + req(hpack.Encoder())))
    return describe(*h2_frames(s))


def h2_bad_hpack(kind, port):
    s = h2_connect(kind, port)
    s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, b"\xff\xff\xff\xff\xff\xff\xff\x7f"))  # integer overflow
    return describe(*h2_frames(s))


def h2_table_size_bomb(kind, port):
    s = h2_connect(kind, port)
    # dynamic table size update to 2^31: above SETTINGS_HEADER_TABLE_SIZE (4096)
    s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, b"\x3f\xe1\xff\xff\xff\x07" + req(hpack.Encoder())))
    return describe(*h2_frames(s))


def h2_many_streams_no_end(kind, port):
    # Opens the max concurrent streams with bodies never finished, then 200 more: refused, not queued.
    s = h2_connect(kind, port)
    enc = hpack.Encoder()
    payload = b"".join(frame(HEADERS, END_HEADERS, 1 + 2 * i, req(enc, "/echo")) for i in range(300))
    send_quietly(s, payload)
    return describe(*h2_frames(s, 3))


def h2_rapid_reset_rss(kind, port):
    s = h2_connect(kind, port)
    enc = hpack.Encoder()
    sid = 1
    for _ in range(200):
        chunk = b""
        for _ in range(100):
            chunk += frame(HEADERS, END_STREAM | END_HEADERS, sid, req(enc)) + frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
            sid += 2
        if not send_quietly(s, chunk):
            break
    return describe(*h2_frames(s, 3)) + f" streams={sid // 2}"


def h2_headers_no_end_stream_slow(kind, port):
    # Request with body promised, never sent: the stream must time out and free its slot.
    s = h2_connect(kind, port)
    s.sendall(frame(HEADERS, END_HEADERS, 1, req(hpack.Encoder(), "/echo")))
    return describe(*h2_frames(s, 3))


def h2_normal(kind, port):
    s = h2_connect(kind, port)
    s.sendall(frame(HEADERS, END_STREAM | END_HEADERS, 1, req(hpack.Encoder(), "/", scheme="https" if kind == "h2tls" else "http")))
    frames, _ = h2_frames(s, 1)
    dec = hpack.Decoder()
    for k, fl, st, p in frames:
        if k == HEADERS and st == 1:
            return dict(dec.decode(p)).get(":status", "?")
    return "none " + describe(frames, _)


# ---------------------------------------------------------------- websockets
def ws_open(port, path="/", deflate=False):
    s = raw(port)
    key = base64.b64encode(os.urandom(16)).decode()
    ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(4096)
        if not b:
            raise RuntimeError("closed during handshake")
        head += b
    assert head.startswith(b"HTTP/1.1 101"), head
    if deflate:
        assert b"permessage-deflate" in head.lower(), head
    return s


def ws_frame(opcode, payload, fin=True, mask=True, rsv=0, length_override=None):
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload) if length_override is None else length_override
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if mask:
        key = os.urandom(4)
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload)) if len(payload) < 200000 else _mask_fast(payload, key)
        return head + key + payload
    return head + payload


def _mask_fast(payload, key):
    k = (key * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(len(payload), "big")


def ws_close_answer(s, seconds=5):
    out, how = read_all(s, 1 << 16, seconds)
    # find a close frame
    i = 0
    while i + 2 <= len(out):
        op = out[i] & 0x0F
        n = out[i + 1] & 0x7F
        j = i + 2
        if n == 126:
            n = struct.unpack(">H", out[j:j + 2])[0]
            j += 2
        elif n == 127:
            n = struct.unpack(">Q", out[j:j + 8])[0]
            j += 8
        if op == 8:
            code = struct.unpack(">H", out[j:j + 2])[0] if n >= 2 else None
            return f"close {code} {out[j + 2:j + n][:40]!r} [{how}]"
        i = j + n
    return f"no close ({len(out)} bytes) [{how}]"


def ws_control_too_big(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x9, b"p" * 200))
    return ws_close_answer(s)


def ws_bad_utf8(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x1, b"ok \xff\xfe bad"))
    return ws_close_answer(s)


def ws_unmasked(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x1, b"hello", mask=False))
    return ws_close_answer(s)


def ws_rsv_bits(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x1, b"hello", rsv=0x40))  # RSV1 without deflate negotiated
    return ws_close_answer(s)


def ws_bad_opcode(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x3, b"hello"))
    return ws_close_answer(s)


def ws_continuation_first(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x0, b"hello"))
    return ws_close_answer(s)


def ws_fragmented_control(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x9, b"ping", fin=False))
    return ws_close_answer(s)


def ws_new_message_mid_fragment(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x1, b"part", fin=False) + ws_frame(0x1, b"again"))
    return ws_close_answer(s)


def ws_never_finished(port):
    # 900 KiB of fragments (under ws_max_size 1 MiB) and never the final one; then hang up.
    s = ws_open(port)
    s.sendall(ws_frame(0x2, b"x" * 1000, fin=False))
    for _ in range(900):
        s.sendall(ws_frame(0x0, b"x" * 1024, fin=False))
    time.sleep(1)
    s.close()
    return "sent 900 KiB unfinished, closed"


def ws_huge_length(port):
    # Announces a 2^62-byte frame and sends none of it: nothing may be allocated for it (Unicorn closes with 1009
    # once the bytes pass ws_max_size, uvicorn at the header; docs/differences.md).
    s = ws_open(port)
    s.sendall(ws_frame(0x2, b"", length_override=1 << 62))
    return ws_close_answer(s, 2)


def ws_length_msb(port):
    s = ws_open(port)
    s.sendall(bytes([0x82, 0xFF]) + struct.pack(">Q", 1 << 63) + os.urandom(4))
    return ws_close_answer(s)


def ws_bad_close_code(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x8, struct.pack(">H", 999)))
    return ws_close_answer(s)


def ws_close_one_byte(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x8, b"\x03"))
    return ws_close_answer(s)


def ws_close_bad_utf8_reason(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x8, struct.pack(">H", 1000) + b"\xff"))
    return ws_close_answer(s)


def ws_deflate_bomb(port):
    # 64 MiB of zeros compressed to ~64 KiB: must close with 1009 (ws_max_size 1 MiB) without inflating it all.
    s = ws_open(port, deflate=True)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = c.compress(b"\0" * (64 << 20)) + c.flush(zlib.Z_SYNC_FLUSH)
    data = data[:-4]
    s.sendall(ws_frame(0x2, data, rsv=0x40))
    return ws_close_answer(s, 10) + f" compressed={len(data)}"


def ws_deflate_garbage(port):
    s = ws_open(port, deflate=True)
    s.sendall(ws_frame(0x2, b"\xff" * 100, rsv=0x40))
    return ws_close_answer(s)


def ws_ping_flood_noread(port):
    # 50,000 pings, never reading the pongs.
    s = ws_open(port)
    s.setblocking(True)
    s.settimeout(10)
    p = ws_frame(0x9, b"x" * 125)
    sent = 0
    try:
        for _ in range(500):
            s.sendall(p * 100)
            sent += 100
    except (socket.timeout, OSError) as e:
        return f"sending stalled after {sent} pings ({type(e).__name__})"
    return f"sent {sent} pings without reading"


def ws_normal(port):
    s = ws_open(port)
    s.sendall(ws_frame(0x1, b"echo me"))
    s.settimeout(5)
    out = s.recv(100)
    return "ok" if b"echo me" in out else repr(out)


# ---------------------------------------------------------------- HTTP/1
def answered(out):
    return out.endswith(b"Hello, World!\n")


def h1_normal(port):
    s = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return status_line(read_all(s, until=answered)[0]).split(" ")[1]


def h1(port, data, seconds=5):
    s = raw(port)
    send_quietly(s, data)
    out, how = read_all(s, 1 << 16, seconds)
    lines = [l for l in out.split(b"\r\n") if l.startswith(b"HTTP/")]
    return f"{[l.decode()[9:] for l in lines][:4]} [{how}]"


def h1_cl_te(port):
    return h1(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")


def h1_te_obfuscated(port):
    return h1(port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n")


def h1_chunk_overflow(port):
    return h1(port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 40 + b"\r\nabc")


def h1_chunk_ext_mb(port):
    return h1(port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"a" * (4 << 20) + b"\r\nx\r\n0\r\n\r\n")


def h1_trailers_mb(port):
    return h1(port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n"
              + b"".join(b"X-T%d: %s\r\n" % (i, b"v" * 1000) for i in range(4000)) + b"\r\n")


def h1_expect_then_nothing(port):
    return h1(port, b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n", 3)


def h1_expect_many(port):
    return h1(port, b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx" * 500)


def h1_expect_bogus(port):
    return h1(port, b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 999-bogus\r\nContent-Length: 1\r\n\r\nx")


def h1_pipeline_flood(port):
    # 20,000 pipelined requests, never reading: must not buffer responses without bound.
    s = raw(port)
    s.settimeout(5)
    sent = 0
    try:
        for _ in range(200):
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 100)
            sent += 100
    except (socket.timeout, OSError) as e:
        return f"stalled after {sent} ({type(e).__name__})"
    return f"sent {sent}"


def h1_long_uri(port):
    return h1(port, b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n")


def h1_many_headers(port):
    return h1(port, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(100000)) + b"\r\n")


def h1_nul_header(port):
    return h1(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n")


def h1_cr_header(port):
    return h1(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n")


def h1_obs_fold(port):
    return h1(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n")


def h1_upgrade_h2c_post(port):
    return h1(port, b"POST / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nContent-Length: 5\r\n\r\nhello", 3)


def h1_upgrade_h2c_bad_settings(port):
    return h1(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: !!!!\r\n\r\n", 3)


def h1_upgrade_h2c_then_garbage(port):
    return h1(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\n\r\n" + b"garbage" * 10, 3)


def h1_prior_knowledge_partial(port):
    return h1(port, PREFACE[:10], 3)


def h1_preface_then_garbage(port):
    return h1(port, PREFACE + b"\x00" * 30, 3)


# ---------------------------------------------------------------- uwsgi
def uwsgi_packet(vars_, modifier1=0, modifier2=0, size=None):
    body = b"".join(struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v for k, v in vars_)
    return struct.pack("<BHB", modifier1, len(body) if size is None else size, modifier2) + body


UW = [(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/"), (b"SERVER_PROTOCOL", b"HTTP/1.1"), (b"QUERY_STRING", b""),
      (b"SERVER_NAME", b"x"), (b"SERVER_PORT", b"80"), (b"REMOTE_ADDR", b"1.2.3.4")]


def uwsgi_normal(port):
    s = raw(port, uwsgi_packet(UW))
    return status_line(read_all(s, 1 << 16, 3, until=answered)[0]).split(" ")[1]


def uwsgi(port, data, seconds=3):
    s = raw(port)
    send_quietly(s, data)
    out, how = read_all(s, 1 << 16, seconds)
    return f"{status_line(out)!r} [{how}]"


def uwsgi_var_past_end(port):
    p = uwsgi_packet(UW)
    body = p[4:] + struct.pack("<H", 60000) + b"abc"
    return uwsgi(port, struct.pack("<BHB", 0, len(body), 0) + body)


def uwsgi_truncated(port):
    return uwsgi(port, uwsgi_packet(UW)[:20])


def uwsgi_zero_size(port):
    return uwsgi(port, struct.pack("<BHB", 0, 0, 0))


def uwsgi_max_size_garbage(port):
    return uwsgi(port, struct.pack("<BHB", 0, 65535, 0) + os.urandom(65535))


def uwsgi_huge_content_length(port):
    return uwsgi(port, uwsgi_packet(UW + [(b"CONTENT_LENGTH", b"99999999999999999999999")]))


def uwsgi_negative_content_length(port):
    return uwsgi(port, uwsgi_packet(UW + [(b"CONTENT_LENGTH", b"-5")]))


def uwsgi_nul_in_path(port):
    return uwsgi(port, uwsgi_packet([(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/a\0b"), (b"HTTP_X", b"a\r\nb")]))


def uwsgi_no_method(port):
    return uwsgi(port, uwsgi_packet([(b"PATH_INFO", b"/")]))


def uwsgi_modifier2(port):
    return uwsgi(port, uwsgi_packet(UW, modifier2=7))


def uwsgi_many_packets(port):
    return uwsgi(port, uwsgi_packet(UW) * 2000)


# ---------------------------------------------------------------- PROXY
SIG = b"\r\n\r\n\0\r\nQUIT\n"
GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def proxy(port, data, seconds=3):
    s = raw(port)
    send_quietly(s, data)
    out, how = read_all(s, 1 << 16, seconds, until=answered)
    return f"{status_line(out)!r} [{how}]"


def v2(cmd=0x21, fam=0x11, body=None, length=None):
    body = body if body is not None else socket.inet_aton("1.2.3.4") + socket.inet_aton("5.6.7.8") + struct.pack(">HH", 1, 2)
    return SIG + bytes([cmd, fam]) + struct.pack(">H", len(body) if length is None else length) + body


def proxy_v2_tlv_past_end(port):
    addr = socket.inet_aton("1.2.3.4") + socket.inet_aton("5.6.7.8") + struct.pack(">HH", 1, 2)
    return proxy(port, v2(body=addr + b"\x04" + struct.pack(">H", 5000) + b"ab") + GET)


def proxy_v2_len_past_end(port):
    return proxy(port, v2(length=65535) + GET)


def proxy_v2_short_addr(port):
    return proxy(port, v2(body=b"\x01\x02") + GET)


def proxy_v2_max_len(port):
    addr = socket.inet_aton("1.2.3.4") + socket.inet_aton("5.6.7.8") + struct.pack(">HH", 1, 2)
    return proxy(port, v2(body=addr + b"\0" * (65535 - 12)) + GET)


def proxy_v1_no_crlf(port):
    return proxy(port, b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2" + b" " * 200)


def proxy_v1_twice(port):
    line = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"
    return proxy(port, line + line + GET)


def proxy_v2_partial_sig(port):
    return proxy(port, SIG[:8])


def proxy_v1_unknown_with_junk(port):
    return proxy(port, b"PROXY UNKNOWN " + b"x" * 80 + b"\r\n" + GET)


def proxy_v2_local(port):
    return proxy(port, v2(cmd=0x20, fam=0x00, body=b"") + GET)


# ----------------------------------------------------------------
def proxy_normal(port):
    return proxy(port, b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n" + GET).split(" ")[1]


NORMAL = {"h2tls": lambda p: h2_normal("h2tls", p), "h2c": lambda p: h2_normal("h2c", p), "ws": ws_normal,
          "uwsgi": uwsgi_normal, "proxy": proxy_normal, "h1": h1_normal}
# What counts as the normal request being served, per kind.
SERVED = {"h2tls": "200", "h2c": "200", "ws": "ok", "uwsgi": "200", "proxy": "200", "h1": "200"}


def attacks(prefix):
    return [name for name, f in globals().items() if name.startswith(prefix) and callable(f) and not name.endswith("_normal")
            and name not in ("h2_connect", "h2_frames", "ws_open", "ws_frame", "ws_close_answer", "uwsgi_packet")]


# Which attacks each kind of server gets: HTTP/2 over TLS and h2c, and the HTTP/1 ones that target h2c's upgrade.
PLAN = {
    "h2tls": attacks("h2_"),
    "h2c": attacks("h2_") + ["h1_upgrade_h2c_post", "h1_upgrade_h2c_bad_settings", "h1_upgrade_h2c_then_garbage",
                             "h1_prior_knowledge_partial", "h1_preface_then_garbage"],
    "ws": attacks("ws_"),
    "uwsgi": attacks("uwsgi_"),
    "proxy": attacks("proxy_"),
    "h1": [a for a in attacks("h1_") if "h2c" not in a and "preface" not in a and "prior" not in a],
}


def run(kind, name, port):
    fn = globals()[name]
    return fn(kind, port) if name.startswith("h2_") else fn(port)
