"""A scoring API that needs a secret: the worked example of the lesson "Security".

GET  /health -> 200 {"status": "ok"}
POST /score  -> needs the header "Authorization: Bearer <token>" and a body {"values": [numbers]};
                answers {"n": ..., "mean": ..., "zscores": [...]}

The token is read from a file, never from an environment variable: API_TOKEN_FILE names the file,
and its default is where Docker mounts a secret called api_token, /run/secrets/api_token.
"""

import hmac
import os
import statistics
from pathlib import Path

from flask import Flask, jsonify, request

TOKEN_FILE = Path(os.environ.get("API_TOKEN_FILE", "/run/secrets/api_token"))

app = Flask(__name__)


def expected_token() -> str:
    """The secret, read on each request, so a rotated secret counts without a restart."""
    return TOKEN_FILE.read_text(encoding="utf-8").strip()


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.post("/score")
def score():
    try:
        token = expected_token()
    except OSError as exc:  # not mounted, or not readable by the user the app runs as
        app.logger.error("cannot read the API token: %s", exc)
        return jsonify(error="the API token is not available; see the server log"), 503
    if not token:
        return jsonify(error="the API token file is empty"), 503
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
    # compare_digest takes the same time wherever the strings differ, so timing gives nothing away.
    if not hmac.compare_digest(sent.encode(), token.encode()):
        return jsonify(error="missing or wrong token"), 401
    body = request.get_json(silent=True)
    values = body.get("values") if isinstance(body, dict) else None
    if not isinstance(values, list) or len(values) < 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return jsonify(error='send a JSON object like {"values": [1.5, 2.0, 3.5]}'), 400
    mean, stdev = statistics.fmean(values), statistics.stdev(values)
    zscores = [round((v - mean) / stdev, 3) if stdev else 0.0 for v in values]
    return jsonify(n=len(values), mean=round(mean, 3), zscores=zscores)


if __name__ == "__main__":
    # For trying the app out on your laptop only. In the image, gunicorn serves it (see the Dockerfile).
    app.run(host="127.0.0.1", port=8000)
