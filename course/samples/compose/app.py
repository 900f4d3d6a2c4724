"""A sentiment scorer that logs every prediction in PostgreSQL: the worked example of the lesson
"Compose for multi-container stacks".

GET  /health             -> 200 {"status": "ok"}   the process answers (no database needed)
GET  /ready              -> 200 {"status": "ready"} or 503: the database answers too
POST /predict            -> body {"text": "..."}
                            answer {"id": ..., "label": ..., "score": ..., "served_by": ...}
GET  /predictions/count  -> {"count": ...}          how many predictions the database holds

DATABASE_URL says where the database is and who connects (postgresql://USER@HOST:PORT/DB, no
password). The password comes from the file named by DB_PASSWORD_FILE: a Compose or Kubernetes
secret mounted into the container. Nothing secret is in the code, the image or the environment.
"""

import os
import re
import socket
from pathlib import Path

import psycopg
from flask import Flask, jsonify, request

# The "model": two small word lists. A real service would load a trained model here.
POSITIVE = frozenset("clear excellent fast good great helpful love reliable simple useful".split())
NEGATIVE = frozenset("bad broken confusing crash hate poor slow terrible useless wrong".split())
WORD = re.compile(r"[a-z']+")
SERVED_BY = socket.gethostname()  # the container's ID: shows which replica answered

app = Flask(__name__)


def connect() -> psycopg.Connection:
    """Connect to DATABASE_URL with the password read from DB_PASSWORD_FILE."""
    password = Path(os.environ["DB_PASSWORD_FILE"]).read_text(encoding="utf-8").strip()
    return psycopg.connect(os.environ["DATABASE_URL"], password=password, connect_timeout=5)


def score(text: str) -> tuple[str, float]:
    words = WORD.findall(text.lower())
    pos = sum(w in POSITIVE for w in words)
    neg = sum(w in NEGATIVE for w in words)
    value = (pos - neg) / max(1, pos + neg)
    label = "positive" if value > 0 else "negative" if value < 0 else "neutral"
    return label, round(value, 3)


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.get("/ready")
def ready():
    try:
        with connect() as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as error:
        app.logger.warning("not ready: %s", error)
        return jsonify(status="database unavailable"), 503
    return jsonify(status="ready")


@app.post("/predict")
def predict():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return jsonify(error='send a JSON object like {"text": "..."}'), 400
    label, value = score(body["text"])
    try:
        with connect() as conn:
            row = conn.execute(
                "INSERT INTO predictions (text, label, score, served_by) VALUES (%s, %s, %s, %s) RETURNING id",
                (body["text"], label, value, SERVED_BY),
            ).fetchone()
    except psycopg.OperationalError as error:
        app.logger.error("database unavailable: %s", error)
        return jsonify(error="database unavailable"), 503
    return jsonify(id=row[0], label=label, score=value, served_by=SERVED_BY)


@app.get("/predictions/count")
def count():
    try:
        with connect() as conn:
            (n,) = conn.execute("SELECT count(*) FROM predictions").fetchone()
    except psycopg.OperationalError as error:
        app.logger.error("database unavailable: %s", error)
        return jsonify(error="database unavailable"), 503
    return jsonify(count=n)
