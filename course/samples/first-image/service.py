"""The station summary over HTTP: the hardened worked example of "Your first data-science image".

GET /health  -> 200 {"status": "ok"}
GET /summary -> 200 {"readings": 90, "stations": [{"station": "harbour", "n": 30, "mean": ..., ...}, ...]}
"""

from flask import Flask, jsonify

from summarize import make_readings, summarize

app = Flask(__name__)
READINGS = make_readings()


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.get("/summary")
def summary():
    return jsonify(readings=len(READINGS), stations=summarize(READINGS))
