"""The course project's forecast API behind a bearer token: the worked example of the lesson "Security".

app.py is the project's API, unchanged. This module adds one check in front of it: every request except
GET /health needs the header "Authorization: Bearer <token>", or it gets 401 before it reaches the model.
gunicorn serves `secure_app:app`.

The token is read from a file, never from an environment variable: API_TOKEN_FILE names the file,
and its default is where Docker mounts a secret called api_token, /run/secrets/api_token.
"""

import hmac
import os
from pathlib import Path

from flask import jsonify, request

from app import app

TOKEN_FILE = Path(os.environ.get("API_TOKEN_FILE", "/run/secrets/api_token"))


def expected_token() -> str:
    """The secret, read on each request, so a rotated secret counts without a restart."""
    return TOKEN_FILE.read_text(encoding="utf-8").strip()


@app.before_request
def check_token():
    if request.path == "/health":  # the health check stays open: it tells nobody anything secret
        return None
    try:
        token = expected_token()
    except OSError as exc:  # not mounted, or not readable by the user the app runs as
        app.logger.error("cannot read the API token: %s", exc)
        return jsonify(error="the API token is not available; see the server log"), 503
    if not token:
        return jsonify(error="the API token file is empty"), 503
    sent = request.headers.get("Authorization", "")
    # compare_digest takes the same time wherever the strings differ, so timing gives nothing away.
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return jsonify(error="missing or wrong token"), 401
    return None  # the right token: Flask goes on to the project's route
