"""A small prediction API: serves the iris model that train.py saved.

GET  /health   -> {"status": "ok"} once the model is loaded
POST /predict  -> body: a JSON list of records, each with the four iris features
                  answer: {"predictions": [...]} with one species name per record
"""

import os

import joblib
import pandas as pd
from flask import Flask, jsonify, request

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
MODEL_PATH = os.environ.get("MODEL_PATH", "model.joblib")

app = Flask(__name__)
model = joblib.load(MODEL_PATH)


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.post("/predict")
def predict():
    records = request.get_json(silent=True)
    if not isinstance(records, list) or not records:
        return jsonify(error="send a non-empty JSON list of records"), 400
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            return jsonify(error=f"record {i} is not an object"), 400
        missing = [f for f in FEATURES if not isinstance(record.get(f), (int, float))]
        if missing:
            return jsonify(error=f"record {i} lacks numeric {', '.join(missing)}"), 400
    frame = pd.DataFrame.from_records(records, columns=FEATURES)
    return jsonify(predictions=model.predict(frame).tolist())


if __name__ == "__main__":
    # For trying it out by hand only; in the container a real server (gunicorn) runs the app.
    app.run(host="127.0.0.1", port=8080)
