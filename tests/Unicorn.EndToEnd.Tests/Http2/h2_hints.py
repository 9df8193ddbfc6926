"""An HTTP/2 client (python3-h2) for the early hints tests: opens every PATH as a stream at once on one
connection and prints, per stream, what arrived on it in order, as JSON:
  {"<path>": [["103", [[name, value], ...]], ["200", [[name, value], ...]], ["data", n, sha256], ["end"]], ...}
A stream reset shows as ["reset", code]; a connection ended by GOAWAY as "goaway" in the top-level list.
A PATH starting with "!" is reset by the client (CANCEL) right after its HEADERS; what arrives for it after that
is listed as for any stream.

usage: h2_hints.py tls|h2c PORT PATH...   (127.0.0.1; TLS with ALPN h2, or cleartext with prior knowledge)
"""
import hashlib
import json
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events


def main():
    mode, port, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    if mode == "tls":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
        assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="latin-1"))
    conn.initiate_connection()
    # A window large enough that a 1 MiB body never waits on this client's WINDOW_UPDATEs.
    conn.increment_flow_control_window(16 * 1024 * 1024)
    streams = {}
    reset = set()
    for path in paths:
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":scheme", "https" if mode == "tls" else "http"),
                                (":authority", "localhost"), (":path", path.lstrip("!"))], end_stream=True)
        conn.increment_flow_control_window(8 * 1024 * 1024, stream_id=sid)
        streams[sid] = {"path": path, "events": [], "body": hashlib.sha256(), "length": 0}
        if path.startswith("!"):
            conn.reset_stream(sid, error_code=8)
            reset.add(sid)
    sock.sendall(conn.data_to_send())

    open_streams = set(streams) - reset
    deadline = time.monotonic() + 60
    goaway = False
    while open_streams and time.monotonic() < deadline and not goaway:
        data = sock.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            sid = getattr(event, "stream_id", None)
            stream = streams.get(sid)
            if stream is None and sid:
                continue
            if isinstance(event, h2.events.InformationalResponseReceived):
                stream["events"].append([dict(event.headers)[":status"], [list(h) for h in event.headers if h[0] != ":status"]])
            elif isinstance(event, h2.events.ResponseReceived):
                stream["events"].append([dict(event.headers)[":status"], [list(h) for h in event.headers if h[0] != ":status"]])
            elif isinstance(event, h2.events.DataReceived):
                stream["body"].update(event.data)
                stream["length"] += len(event.data)
                conn.acknowledge_received_data(event.flow_controlled_length, sid)
            elif isinstance(event, h2.events.StreamEnded):
                stream["events"].append(["data", stream["length"], stream["body"].hexdigest()])
                stream["events"].append(["end"])
                open_streams.discard(sid)
            elif isinstance(event, h2.events.StreamReset):
                stream["events"].append(["reset", int(event.error_code)])
                open_streams.discard(sid)
            elif isinstance(event, h2.events.ConnectionTerminated):
                goaway = True
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    result = {s["path"]: s["events"] for s in streams.values()}
    if goaway:
        result["goaway"] = True
    print(json.dumps(result))


if __name__ == "__main__":
    main()
