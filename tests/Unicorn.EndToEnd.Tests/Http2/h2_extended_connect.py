"""An RFC 8441 client (python3-h2) for Http2ExtendedConnectTests: over TLS with ALPN h2, reads the server's
first SETTINGS, then opens a websocket as an extended CONNECT on stream 1 (as a browser would had the server
advertised it; python3-h2 sends it regardless), then a GET on stream 3 of the same connection. Prints one line each:
  settings enable_connect_protocol=<value|absent>
  connect reset=<code> | connect status=<status> | connect goaway=<code> | connect timeout
  get status=<status> body=<body> | get reset=<code> | get goaway=<code> | get timeout

With a third argument "classic", stream 1 is a classic CONNECT instead (RFC 9113 §8.5: :method and :authority
only), which the app answers as any request.

usage: h2_extended_connect.py PORT GET_PATH [classic]
"""
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events

ENABLE_CONNECT_PROTOCOL = 0x8


def main():
    port, get_path = int(sys.argv[1]), sys.argv[2]
    classic = sys.argv[3:] == ["classic"]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30), server_hostname="localhost")
    assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
    # python3-h2 4.1 wants :scheme and :path beside :authority even on a classic CONNECT: not checked in that mode.
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
        client_side=True, header_encoding="latin-1", validate_outbound_headers=not classic))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())

    # The server's preface is its SETTINGS frame: the first event on the connection.
    settings = None
    while settings is None:
        data = sock.recv(65536)
        if not data:
            raise SystemExit("closed before SETTINGS")
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.RemoteSettingsChanged) and settings is None:
                changed = event.changed_settings.get(ENABLE_CONNECT_PROTOCOL)
                settings = "absent" if changed is None else str(changed.new_value)
        sock.sendall(conn.data_to_send())
    print("settings enable_connect_protocol=" + settings, flush=True)

    if classic:
        conn.send_headers(1, [(":method", "CONNECT"), (":authority", "localhost:443")], end_stream=True)
    else:
        conn.send_headers(1, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
                              (":path", "/echo"), (":authority", "localhost"),
                              ("sec-websocket-version", "13"), ("origin", "https://localhost")])
    sock.sendall(conn.data_to_send())
    print("connect " + outcome(sock, conn, 1), flush=True)

    conn.send_headers(3, [(":method", "GET"), (":scheme", "https"), (":path", get_path), (":authority", "localhost")],
                      end_stream=True)
    sock.sendall(conn.data_to_send())
    print("get " + outcome(sock, conn, 3), flush=True)
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()


def outcome(sock, conn, stream_id):
    """What the server answered on the stream: a reset, or a status with its body once the stream ends."""
    status, body = None, b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        if not data:
            return "closed"
        for event in conn.receive_data(data):
            if getattr(event, "stream_id", None) != stream_id and not isinstance(event, h2.events.ConnectionTerminated):
                continue
            if isinstance(event, h2.events.StreamReset):
                return "reset=%d" % event.error_code
            if isinstance(event, h2.events.ConnectionTerminated):
                return "goaway=%d" % event.error_code
            if isinstance(event, h2.events.ResponseReceived):
                status = dict(event.headers)[":status"]
            if isinstance(event, h2.events.DataReceived):
                body += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
            if isinstance(event, h2.events.StreamEnded):
                sock.sendall(conn.data_to_send())
                return "status=%s body=%s" % (status, body.decode("latin-1"))
        sock.sendall(conn.data_to_send())
    return "timeout" if status is None else "status=%s" % status


main()
