"""A churn-scoring API that only answers callers who present its API key.

The key is read from a file (API_KEY_FILE, by default /run/secrets/api_key), never from the environment.
Each request is appended to an audit file in a temporary folder, so the service needs one writable place.
"""

import hmac
import json
import math
import os
import signal
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

KEY_FILE = Path(os.environ.get("API_KEY_FILE", "/run/secrets/api_key"))
WEIGHTS = {"tenure_months": -0.08, "support_calls": 0.45, "monthly_spend": -0.01, "late_payments": 0.6}


def load_key() -> str:
    try:
        key = KEY_FILE.read_text().strip()
    except OSError as exc:
        sys.exit(f"scorer: cannot read the API key from {KEY_FILE} ({exc.strerror}); mount it as a secret")
    if not key:
        sys.exit(f"scorer: {KEY_FILE} is empty")
    return key


KEY = load_key()
AUDIT = Path(tempfile.mkdtemp(prefix="scorer-")) / "audit.jsonl"  # fails at start on a read-only /tmp


def churn_probability(features: list[float]) -> float:
    z = -1.0 + sum(w * x for w, x in zip(WEIGHTS.values(), features, strict=True))
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
        if self.path == "/health":
            self.answer(200, {"status": "ok"})
        else:
            self.answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/score":
            self.answer(404, {"error": "not found"})
            return
        if not hmac.compare_digest(self.headers.get("X-API-Key", ""), KEY):
            self.answer(401, {"error": "missing or wrong X-API-Key"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            features = [float(x) for x in json.loads(self.rfile.read(length))["features"]]
            probability = round(churn_probability(features), 4)
        except (ValueError, KeyError, TypeError) as exc:
            self.answer(400, {"error": f"send {{\"features\": [{len(WEIGHTS)} numbers]}} ({exc})"})
            return
        with AUDIT.open("a") as audit:
            audit.write(json.dumps({"at": time.time(), "probability": probability}) + "\n")
        self.answer(200, {"churn_probability": probability})


if __name__ == "__main__":
    # As PID 1 in a container, Python gets no default handler for SIGTERM: without this line,
    # `docker stop` waits its full 10 seconds and then kills the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("scorer listening on 0.0.0.0:8000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
