"""A small scoring service built on a compiled extension (fastscore).

GET  /health  -> {"status": "ok"}
POST /score   -> body: {"errors": [numbers]}  answer: {"mean_abs_error": number}
"""

import fastscore
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.post("/score")
def score():
    payload = request.get_json(silent=True) or {}
    errors = payload.get("errors")
    if not isinstance(errors, list) or not all(isinstance(e, (int, float)) for e in errors):
        return jsonify(error='send {"errors": [numbers]}'), 400
    return jsonify(mean_abs_error=fastscore.mean_abs(errors))
