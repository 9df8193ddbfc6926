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
    wrapper = request.environ.get("wsgi.file_wrapper")
    response = send_file(path, mimetype="application/octet-stream")
    response.headers["X-File-Wrapper"] = type(wrapper).__name__ if wrapper else "none"
    response.headers["X-Size"] = str(os.path.getsize(path))
    return response
