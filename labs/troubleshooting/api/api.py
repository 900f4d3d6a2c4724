"""The churn-scoring API: scores a customer with a logistic regression and keeps every prediction in
PostgreSQL (table `predictions`).

GET /health answers 200 while the database answers; POST /predict takes {"features": [4 numbers]}.
At start-up it connects to the database once to create its table, and stops at once if it cannot: there is
no retry loop here, so a stack that starts it before PostgreSQL is ready shows it.
"""

import json
import math
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

MODEL = json.loads(Path(__file__).with_name("model.json").read_text())
DATABASE = {
    "host": os.environ.get("POSTGRES_HOST", "db"),
    "port": int(os.environ.get("POSTGRES_PORT", "5432")),
    "user": os.environ.get("POSTGRES_USER", "postgres"),
    "password": os.environ.get("POSTGRES_PASSWORD", ""),
    "dbname": os.environ.get("POSTGRES_DB", "postgres"),
    "connect_timeout": 5,
}
TABLE = """create table if not exists predictions (
    id bigserial primary key,
    features jsonb not null,
    probability double precision not null,
    created_at timestamptz not null default now())"""


def connect() -> psycopg.Connection:
    return psycopg.connect(**DATABASE, autocommit=True)


def churn_probability(features: list[float]) -> float:
    z = MODEL["bias"] + sum(w * x for w, x in zip(MODEL["weights"], features, strict=True))
    return 1 / (1 + math.exp(-z))


class Handler(BaseHTTPRequestHandler):
    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path != "/health":
            self.answer(404, {"error": "not found"})
            return
        try:
            with connect() as conn:
                conn.execute("select 1")
        except psycopg.Error as exc:
            self.answer(503, {"status": "database unavailable", "error": str(exc).strip()})
            return
        self.answer(200, {"status": "ok"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self.answer(404, {"error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            features = [float(x) for x in json.loads(self.rfile.read(length))["features"]]
            probability = round(churn_probability(features), 4)
        except (ValueError, KeyError, TypeError) as exc:
            self.answer(400, {"error": f"send {{\"features\": [{len(MODEL['weights'])} numbers]}} ({exc})"})
            return
        with connect() as conn:
            row = conn.execute("insert into predictions (features, probability) values (%s, %s) returning id",
                               (json.dumps(features), probability)).fetchone()
        self.answer(200, {"id": row[0], "probability": probability})

    def log_message(self, format: str, *args: object) -> None:
        if self.path != "/health":  # the healthcheck asks every few seconds: keep the log readable
            super().log_message(format, *args)


if __name__ == "__main__":
    with connect() as conn:  # psycopg.OperationalError here: PostgreSQL does not accept connections (yet)
        conn.execute(TABLE)
    print(f"connected to PostgreSQL at {DATABASE['host']}:{DATABASE['port']}; table predictions ready")
    print("churn API listening on 0.0.0.0:8080")
    ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
