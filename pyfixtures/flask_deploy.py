"""Flask as deployed: JSON, a streamed (generator) response, and send_file through wsgi.file_wrapper."""
import os

from flask import Flask, Response, jsonify, request, send_file

app = Flask(__name__)


@app.route("/json", methods=["GET", "POST"])
def json_view():
    payload = request.get_json(silent=True)
    return jsonify(method=request.method, got=payload, scheme=request.scheme)


@app.route("/stream")
def stream():
    count = int(request.args.get("n", "5"))
    return Response(("line %d\n" % i for i in range(count)), mimetype="text/plain")


@app.route("/file")
def file():
    # The path comes from the test; a real app would never take it from the request.
    path = request.args["path"]
    response = send_file(path, mimetype="application/octet-stream")
    # Werkzeug wraps the file with environ["wsgi.file_wrapper"] when the server offers one.
    response.direct_passthrough = True
    response.headers["X-File-Wrapper"] = "%s.%s" % (type(response.response).__module__, type(response.response).__name__)
    response.headers["X-Size"] = str(os.path.getsize(path))
    return response


@app.route("/environ")
def environ_view():
    """The environ keys the TLS and proxy tests look at."""
    keys = ("wsgi.url_scheme", "HTTP_HOST", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "REMOTE_ADDR",
            "REMOTE_PORT", "SERVER_NAME", "SERVER_PORT", "SSL_CLIENT_VERIFY", "SSL_CLIENT_S_DN", "SSL_CLIENT_I_DN",
            "SSL_CLIENT_CERT")
    return jsonify({k: request.environ.get(k) for k in keys})
