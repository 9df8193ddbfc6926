"""h2c by HTTP/1.1 Upgrade with python3-h2 as the client (RFC 7540 section 3.2).

usage: h2c_upgrade.py PORT PATH
Sends GET PATH with Upgrade: h2c and HTTP2-Settings, expects 101, then reads the answer to the upgrade request
on stream 1 and makes a second request (stream 3) on the same connection. Prints one line per stream:
"stream=N status=S body=<first 200 bytes, repr>", or "no-upgrade <status line>" when the server stays on HTTP/1.1.
"""
import socket
import sys

import h2.config
import h2.connection
import h2.events


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="latin-1"))
    settings = conn.initiate_upgrade_connection()
    sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                  "Upgrade: h2c\r\nHTTP2-Settings: %s\r\nX-Probe: one\r\n\r\n" % (path, port, settings.decode("ascii"))).encode("latin-1"))
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        if not chunk:
            break
        head += chunk
    status_line, _, rest = head.partition(b"\r\n")
    if not status_line.startswith(b"HTTP/1.1 101"):
        print("no-upgrade " + status_line.decode("latin-1"), flush=True)
        return
    rest = head.split(b"\r\n\r\n", 1)[1]
    sock.sendall(conn.data_to_send())
    responses = {}
    second_sent = False
    data = rest
    while True:
        for event in conn.receive_data(data) if data else []:
            if isinstance(event, h2.events.ResponseReceived):
                responses.setdefault(event.stream_id, [None, b""])[0] = dict(event.headers).get(":status")
            elif isinstance(event, h2.events.DataReceived):
                responses.setdefault(event.stream_id, [None, b""])[1] += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                status, body = responses[event.stream_id]
                print("stream=%d status=%s body=%r" % (event.stream_id, status, body[:200]), flush=True)
                if event.stream_id == 1 and not second_sent:
                    conn.send_headers(3, [(":method", "GET"), (":scheme", "http"), (":authority", "127.0.0.1"), (":path", path)], end_stream=True)
                    second_sent = True
                elif event.stream_id == 3:
                    sock.sendall(conn.data_to_send())
                    sock.close()
                    return
        sock.sendall(conn.data_to_send())
        data = sock.recv(65536)
        if not data:
            print("closed", flush=True)
            return


if __name__ == "__main__":
    main()
