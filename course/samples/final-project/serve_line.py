"""The prediction API of the final project's worked example: serves the line that fit_line.py saved.

GET  /health   -> 200 {"status": "ok", "trained_at": "..."}
POST /predict  -> body {"x": [1.0, 2.5]}; answer {"predictions": [...]}

The model is read once, when the server starts. If the training job has not written it, the server
does not start at all: Compose must start this service only after training completed successfully.
"""

import json
import os
from pathlib import Path

from flask import Flask, jsonify, request

MODEL_PATH = Path(os.environ.get("MODEL_PATH", "/models/line.json"))
MODEL = json.loads(MODEL_PATH.read_text(encoding="utf-8"))

app = Flask(__name__)


@app.get("/health")
def health():
    return jsonify(status="ok", trained_at=MODEL["trained_at"])


@app.post("/predict")
def predict():
    body = request.get_json(silent=True)
    xs = body.get("x") if isinstance(body, dict) else None
    if not isinstance(xs, list) or not all(isinstance(x, (int, float)) for x in xs):
        return jsonify(error='send a JSON object like {"x": [1.0, 2.5]}'), 400
    return jsonify(predictions=[round(MODEL["slope"] * x + MODEL["intercept"], 4) for x in xs])
