"""`make course` ends in scripts/course.sh: it must serve the site and a token-protected JupyterLab
that shows the labs, and, where grading uses the course engine, a terminal whose docker talks to it and its
published ports on this machine's 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests
from conftest import TEST_ENGINE
from tornado.websocket import websocket_connect

from graders.course_engine import places
from graders.spec import REPO_ROOT

ON_COURSE_ENGINE = TEST_ENGINE.url == places.url()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_course_script_serves_docs_and_jupyterlab(tmp_path: Path) -> None:
    if not (REPO_ROOT / "site" / "index.html").exists():
        subprocess.run(["make", "site"], cwd=REPO_ROOT, check=True, timeout=300)
    docs, lab, web = free_port(), free_port(), free_port()
    log = tmp_path / "course.log"
    # As a learner starts it: no DOCKER_HOST of the suite's, the engine chosen by MASTERY_ENGINE alone.
    env = {**{k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}, "DOCS_PORT": str(docs), "LAB_PORT": str(lab),
           "MASTERY_ENGINE": "course" if ON_COURSE_ENGINE else TEST_ENGINE.url}
    with log.open("w") as out:
        proc = subprocess.Popen(["bash", "scripts/course.sh"], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    try:
        token = ""
        for _ in range(120):
            found = re.search(r"token=([0-9a-f]+)", log.read_text())
            if found:
                token = found.group(1)
                break
            time.sleep(0.5)
        assert token, log.read_text()[-2000:]
        assert requests.get(f"http://127.0.0.1:{docs}/", timeout=5).status_code == 200
        base = f"http://127.0.0.1:{lab}"
        assert requests.get(f"{base}/api/status", timeout=5).status_code == 403, "JupyterLab must require its token"
        listing = requests.get(f"{base}/api/contents/ml-api", params={"token": token}, timeout=5).json()
        names = {item["name"] for item in listing["content"]}
        assert {"ml-api.ipynb", "Dockerfile", "app.py"} <= names
        assert "solution" not in names
        if ON_COURSE_ENGINE:
            # A terminal's docker is the course engine's, and what it publishes on the engine's loopback is
            # reached at this machine's, as the lessons' `curl localhost:8000` expects.
            said = asyncio.run(terminal_says(lab, token, # `context show` came with CLI 23; Debian's 20.10 CLI knows `context inspect`.
                                             "docker context inspect --format '{{.Name}}'; "
                                             "docker info --format '{{.ServerVersion}}'",
                                             "\n28."))
            assert "mastery" in said, said
            asyncio.run(terminal_says(lab, token, f"docker run -d --name launcher-web -p 127.0.0.1:{web}:8000 "
                                                  "python:3.13-slim python3 -m http.server 8000 && echo START''ED",
                                      "STARTED"))
            assert get_within(f"http://127.0.0.1:{web}/", 30) == 200, log.read_text()[-2000:]
            assert f"http://127.0.0.1:{web} -> port {web} of launcher-web (course engine)" in log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        if ON_COURSE_ENGINE:
            subprocess.run(["docker", "rm", "-f", "launcher-web"], capture_output=True, timeout=60)


async def terminal_says(lab: int, token: str, command: str, expect: str, within_s: float = 60) -> str:
    """Run a command in a new JupyterLab terminal, as a learner types it; what it printed, up to `expect` (which the
    command itself must not contain: the terminal echoes what is typed)."""
    assert expect not in command
    name = requests.post(f"http://127.0.0.1:{lab}/api/terminals", params={"token": token}, timeout=10).json()["name"]
    socket_ = await websocket_connect(f"ws://127.0.0.1:{lab}/terminals/websocket/{name}?token={token}")
    try:
        await socket_.write_message(json.dumps(["stdin", command + "\r"]))
        seen = ""
        async with asyncio.timeout(within_s):
            while expect not in seen:
                message = await socket_.read_message()
                assert message is not None, seen
                kind, *payload = json.loads(message)
                if kind == "stdout":
                    seen += str(payload[0])
        return seen
    finally:
        socket_.close()


def get_within(url: str, within_s: float) -> int:
    deadline = time.monotonic() + within_s
    while True:
        try:
            return requests.get(url, timeout=5).status_code
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
