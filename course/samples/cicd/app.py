"""Summary statistics over HTTP: the worked example of the lesson "CI/CD and multi-stage builds".

GET  /health   -> 200 {"status": "ok"}
POST /describe -> body {"values": [numbers]}
                  answer {"count": ..., "mean": ..., "median": ..., "min": ..., "max": ...}
"""

import statistics

from flask import Flask, jsonify, request

app = Flask(__name__)


def describe(values: list[float]) -> dict[str, float]:
    """The numbers a data scientist looks at first, rounded for people to read."""
    return {
        "count": len(values),
        "mean": round(statistics.fmean(values), 4),
        "median": round(statistics.median(values), 4),
        "min": min(values),
        "max": max(values),
    }


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.post("/describe")
def describe_endpoint():
    body = request.get_json(silent=True)
    values = body.get("values") if isinstance(body, dict) else None
    if not isinstance(values, list) or not values or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return jsonify(error='send a JSON object like {"values": [1.5, 2.0, 3.5]}'), 400
    return jsonify(describe(values))


if __name__ == "__main__":
    # For trying the app out on your laptop only. In the image, gunicorn serves it (see the Dockerfile).
    app.run(host="127.0.0.1", port=8000)
