"""The course project's API: forecasts from model.json over HTTP.

GET  /health   -> 200 {"status": "ok", "stations": [...]}
POST /forecast -> body {"station": "hill", "days": 3}  (days: 1 to 14, 3 when left out)
                  answer {"station": "hill", "forecast": [{"day": "2026-03-31", "temperature": 12.6}, ...]}
"""

import json
import os

from flask import Flask, jsonify, request

from forecast import MAX_DAYS, forecast

MODEL_PATH = os.environ.get("MODEL_PATH", "model.json")

app = Flask(__name__)
with open(MODEL_PATH, encoding="utf-8") as f:
    MODEL = json.load(f)


@app.get("/health")
def health():
    return jsonify(status="ok", stations=sorted(MODEL["stations"]))


@app.post("/forecast")
def forecast_days():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("station"), str):
        return jsonify(error='send a JSON object like {"station": "hill", "days": 3}'), 400
    station, days = body["station"], body.get("days", 3)
    if station not in MODEL["stations"]:
        return jsonify(error=f"no station {station!r}; the model knows {sorted(MODEL['stations'])}"), 404
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        return jsonify(error=f"days must be a whole number from 1 to {MAX_DAYS}"), 400
    return jsonify(station=station, forecast=forecast(MODEL, station, days))


if __name__ == "__main__":
    # For trying the app out on your laptop only. In an image, gunicorn serves it.
    app.run(host="127.0.0.1", port=9000)
