"""A small model service: a linear model that scores a flower's petal measurements, served over HTTP.

Standard library only, so the image needs nothing from PyPI."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEIGHTS = {"petal_length": 0.42, "petal_width": 0.97}
BIAS = -1.2


def score(features: dict[str, float]) -> float:
    """The model's score for one flower; a KeyError names a missing measurement."""
    return round(BIAS + sum(weight * float(features[name]) for name, weight in WEIGHTS.items()), 3)


def label(features: dict[str, float]) -> str:
    return "virginica" if score(features) > 1.0 else "versicolor"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer(200, {"status": "ok"} if self.path == "/health" else {"error": "not found"})

    def do_POST(self) -> None:
        try:
            features = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self._answer(200, {"score": score(features), "label": label(features)})
        except (ValueError, KeyError, TypeError) as exc:
            self._answer(400, {"error": f"bad input: {exc}"})

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
