"""A small statistics API: the app whose development loop the "Pro tips" lesson speeds up.

GET  /health   -> 200 {"status": "ok"}
POST /zscores  -> body {"values": [3, 5, 8]}; answer {"mean": ..., "stdev": ..., "zscores": [...]}
"""

import statistics

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.post("/zscores")
def zscores():
    body = request.get_json(silent=True)
    values = body.get("values") if isinstance(body, dict) else None
    if (not isinstance(values, list) or len(values) < 2
            or not all(isinstance(v, (int, float)) for v in values)):
        return jsonify(error='send {"values": [...]} with at least two numbers'), 400
    mean = statistics.fmean(values)
    stdev = statistics.stdev(values)
    scores = [round((v - mean) / stdev, 3) if stdev else 0.0 for v in values]
    return jsonify(mean=round(mean, 3), stdev=round(stdev, 3), zscores=scores)
