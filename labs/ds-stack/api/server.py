"""A small model API with no dependencies beyond Python: /health for the healthcheck, /predict for scores.

The "model" is a logistic regression's weights, read from model.json, so the service starts in a blink.
"""

import json
import math
import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODEL = json.loads(Path(__file__).with_name("model.json").read_text())


def predict(features: list[float]) -> float:
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
        if self.path == "/health":
            self.answer(200, {"status": "ok", "replica": socket.gethostname()})
        else:
            self.answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self.answer(404, {"error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            features = json.loads(self.rfile.read(length))["features"]
            self.answer(200, {"probability": round(predict([float(x) for x in features]), 4)})
        except (ValueError, KeyError, TypeError) as exc:
            self.answer(400, {"error": f"send {{\"features\": [{len(MODEL['weights'])} numbers]}} ({exc})"})


if __name__ == "__main__":
    # As PID 1 in a container, Python gets no default handler for SIGTERM: without this line,
    # `docker stop` waits its full 10 seconds and then kills the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = int(os.environ.get("PORT", "8080"))
    print(f"model API listening on 0.0.0.0:{port}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
