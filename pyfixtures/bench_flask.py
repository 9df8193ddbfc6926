"""The Flask app of bench/run's `flaskjson` scenario: one view answering `jsonify` of a small dict, the
commonest shape of a Flask API endpoint. Apart from bench_apps so that the other scenarios' servers
never import Flask (it would add to their memory)."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/")
def status():
    return jsonify(service="bench", ok=True, version=3, items=[1, 2, 3], owner={"name": "unicorn", "id": 42})
