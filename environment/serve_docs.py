"""The docs service: the built site, plus /mastery-environment.json, which tells the site's scripts where this
environment's JupyterLab is (MASTERY_LAB_URL), so a lesson's lab link opens the notebook there."""

from __future__ import annotations

import functools
import json
import os
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

SITE = "/site"
ENVIRONMENT_PATH = "/mastery-environment.json"


class DocsHandler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != ENVIRONMENT_PATH:
            super().do_GET()
            return
        body = json.dumps({"lab": os.environ.get("MASTERY_LAB_URL", "http://127.0.0.1:8888")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a page view is not worth a log line in `docker compose logs`."""


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8000), functools.partial(DocsHandler, directory=SITE)).serve_forever()
