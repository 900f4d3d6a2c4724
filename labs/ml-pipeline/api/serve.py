"""The pipeline's model API: serves the model the training job left in the shared volume.

GET  /health   -> {"status": "ok", "run_id": ...} once the model is loaded
POST /predict  -> body {"instances": [[sepal_length, sepal_width, petal_length, petal_width], ...]}
                  answer {"predictions": ["setosa", ...], "model": {"run_id": ..., "accuracy": ...}}

The model is loaded once, when the server starts. Without one the server refuses to start, loudly: that
means it was started before training finished (see `depends_on` in compose.yaml).
Settings: MODEL_DIR, the folder the volume is mounted at (default: /models).
"""

import json
import os
import sys
from pathlib import Path

MODEL_DIR = Path(os.environ.get("MODEL_DIR", "/models"))
CARD_PATH, MODEL_PATH = MODEL_DIR / "model.json", MODEL_DIR / "model.joblib"

# Checked before the libraries load, so that a missing model is reported at once.
if not CARD_PATH.is_file() or not MODEL_PATH.is_file():
    sys.exit(f"no model in {MODEL_DIR} (looked for model.json and model.joblib): the API must start only after "
             "the training job has finished, with depends_on: {train: {condition: service_completed_successfully}}, "
             f"and both services must mount the same named volume at {MODEL_DIR}.")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402

CARD, MODEL = json.loads(CARD_PATH.read_text()), joblib.load(MODEL_PATH)
ABOUT = {"run_id": CARD["run_id"], "experiment": CARD["experiment"], "accuracy": CARD["metrics"]["accuracy"],
         "trained_at": CARD["trained_at"]}
app = Flask(__name__)


@app.get("/health")
def health():
    return jsonify(status="ok", run_id=CARD["run_id"])


@app.post("/predict")
def predict():
    body = request.get_json(silent=True)
    instances = body.get("instances") if isinstance(body, dict) else None
    width = len(CARD["features"])
    if (not isinstance(instances, list) or not instances
            or not all(isinstance(row, list) and len(row) == width
                       and all(isinstance(x, int | float) and not isinstance(x, bool) for x in row) for row in instances)):
        return jsonify(error=f'send {{"instances": [[{", ".join(CARD["features"])}], ...]}}: rows of {width} numbers'), 400
    classes = MODEL.predict(np.asarray(instances, dtype=float))
    return jsonify(predictions=[CARD["classes"][int(c)] for c in classes], model=ABOUT)
