"""A real Flask app."""

from flask import Flask, request

app = Flask(__name__)


@app.route("/hello/<name>")
def hello(name):
    return "Hello %s from %s" % (name, request.args.get("via", "flask"))


@app.route("/echo", methods=["POST"])
def echo():
    return request.get_data()
