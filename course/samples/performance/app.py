"""Quantiles over HTTP: the worked example of "Performance: size and runtime".

GET  /health    -> 200 {"status": "ok"}
POST /quantiles -> body {"values": [numbers], "n": 4}
                   answer {"count": ..., "mean": ..., "quantiles": [n - 1 cut points]}
"""

import statistics

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.post("/quantiles")
def quantiles():
    body = request.get_json(silent=True)
    values = body.get("values") if isinstance(body, dict) else None
    n = body.get("n", 4) if isinstance(body, dict) else 4
    if (not isinstance(values, list) or len(values) < 2 or not isinstance(n, int) or n < 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
        return jsonify(error='send {"values": [at least two numbers], "n": 4}'), 400
    return jsonify(count=len(values), mean=round(statistics.fmean(values), 6),
                   quantiles=[round(q, 6) for q in statistics.quantiles(values, n=n)])
