"""The course project's forecast API, with a forecast log in PostgreSQL: the worked example of the lesson
"Compose for multi-container stacks".

GET  /health           -> 200 {"status": "ok", "stations": [...]}  the process answers (no database needed)
GET  /ready            -> 200 {"status": "ready"} or 503: the database answers too
POST /forecast         -> body {"station": "hill", "days": 3}  (days: 1 to 14, 3 when left out)
                          answer {"station": "hill", "forecast": [{"day": "2026-03-31", "temperature": 12.6}, ...]},
                          the project's own; each forecast is logged first, with the replica that served it
GET  /forecasts/count  -> {"count": ...}  how many forecasts the log holds

DATABASE_URL says where the database is and who connects (postgresql://USER@HOST:PORT/DB, no
password). The password comes from the file named by DB_PASSWORD_FILE: a Compose or Kubernetes
secret mounted into the container. Nothing secret is in the code, the image or the environment.
"""

import json
import os
import socket
from pathlib import Path

import psycopg
from flask import Flask, jsonify, request
from psycopg.types.json import Jsonb

from forecast import MAX_DAYS, forecast

MODEL_PATH = os.environ.get("MODEL_PATH", "model.json")
SERVED_BY = socket.gethostname()  # the container's ID (a Pod's name on Kubernetes): shows which replica answered

app = Flask(__name__)
with open(MODEL_PATH, encoding="utf-8") as f:
    MODEL = json.load(f)


def connect() -> psycopg.Connection:
    """Connect to DATABASE_URL with the password read from DB_PASSWORD_FILE."""
    password = Path(os.environ["DB_PASSWORD_FILE"]).read_text(encoding="utf-8").strip()
    return psycopg.connect(os.environ["DATABASE_URL"], password=password, connect_timeout=5)


@app.get("/health")
def health():
    return jsonify(status="ok", stations=sorted(MODEL["stations"]))


@app.get("/ready")
def ready():
    try:
        with connect() as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as error:
        app.logger.warning("not ready: %s", error)
        return jsonify(status="database unavailable"), 503
    return jsonify(status="ready")


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
    ahead = forecast(MODEL, station, days)
    try:  # no forecast leaves without its row in the log: it is compared with the readings that come
        with connect() as conn:
            conn.execute("INSERT INTO forecasts (station, days, forecast, served_by) VALUES (%s, %s, %s, %s)",
                         (station, days, Jsonb(ahead), SERVED_BY))
    except psycopg.OperationalError as error:
        app.logger.error("database unavailable: %s", error)
        return jsonify(error="database unavailable"), 503
    return jsonify(station=station, forecast=ahead)


@app.get("/forecasts/count")
def count():
    try:
        with connect() as conn:
            (n,) = conn.execute("SELECT count(*) FROM forecasts").fetchone()
    except psycopg.OperationalError as error:
        app.logger.error("database unavailable: %s", error)
        return jsonify(error="database unavailable"), 503
    return jsonify(count=n)
