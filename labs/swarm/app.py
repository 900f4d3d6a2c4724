"""A tiny stand-in for the iris API: answers /health with the version it runs, and says whether its token and
settings files are there (never what the token is)."""

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TOKEN = Path(os.environ.get("API_TOKEN_FILE", "/run/secrets/api_token"))
SETTINGS = Path(os.environ.get("SETTINGS_FILE", "/app/settings.json"))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "ok", "version": os.environ.get("APP_VERSION", "1.0.0"),
                           "token_file": TOKEN.is_file(), "settings_file": SETTINGS.is_file()}).encode()
        self.send_response(200 if self.path in ("/", "/health") else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # one line per request would drown the service's logs
        pass


if __name__ == "__main__":
    # As PID 1, Python ignores SIGTERM unless told otherwise: without this, every replica Swarm stops would
    # keep running until it is killed 10 s later.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
