"""The "Pro tips" lesson's worked example (course/samples/pro-tips/), run as course/pro-tips.md shows it: the
development settings (compose.yaml + compose.override.yaml) serve the course project's API with Flask's reloader
from the code mounted over /srv and still find the model the build trained (MODEL_PATH, outside /srv); a saved
app.py reloads it; a slim image has no `ps`; a throwaway container on the service's network reads /health. The
production settings (compose.yaml + compose.prod.yaml) serve the same answers with gunicorn on a read-only root.
These are the outputs the page quotes.

The development settings bind-mount the folder, so the example runs from a copy in the folder the engine shares
with this machine, its image renamed to a sample's name and its host port left to Docker (other tests may hold
8000)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from project_core import project_calls

from graders import engine
from graders.spec import REPO_ROOT

FOLDER = REPO_ROOT / "course" / "samples" / "pro-tips"
PROJECT_CALLS = project_calls()
PAGE = (REPO_ROOT / "course" / "pro-tips.md").read_text(encoding="utf-8")
PROJECT = "mastery-sample-pro-tips"
IMAGE = "mastery-sample/pro-tips:forecast-api"
SAMPLE = f"""services:
  api:
    image: {IMAGE}
    ports: !override
      - "127.0.0.1::8000"
"""
DEV = ("-f", "compose.yaml", "-f", "compose.override.yaml", "-f", "sample.compose.yaml")
PROD = ("-f", "compose.yaml", "-f", "compose.prod.yaml", "-f", "sample.compose.yaml")
# The page's throwaway container, word for word after `docker run --rm --network container:NAME python:3.13-slim`.
HEALTH = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/health').read())"
# A forecast asked from inside the API container (the course engine publishes on its own loopback, out of reach).
FORECAST = ("import json, sys, urllib.request\n"
            "req = urllib.request.Request('http://127.0.0.1:8000/forecast', data=sys.argv[1].encode(),"
            " headers={'Content-Type': 'application/json'})\n"
            "print(json.dumps(json.load(urllib.request.urlopen(req, timeout=10)), sort_keys=True))")

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def run(argv: list[str], cwd: Path, timeout: float = 300) -> tuple[int, str]:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def compose(folder: Path, files: tuple[str, ...], *args: str, timeout: float = 300) -> str:
    code, out = run(["docker", "compose", "-p", PROJECT, *files, *args], folder, timeout)
    assert code == 0, f"docker compose {' '.join(args)}:\n{out}"
    return out


def forecast(folder: Path, files: tuple[str, ...]) -> None:
    hill = PROJECT_CALLS[0]
    out = compose(folder, files, "exec", "-T", "api", "python", "-c", FORECAST, json.dumps(hill["json"]), timeout=60)
    assert json.loads(out.splitlines()[-1]) == hill["answer"], out


@pytest.fixture
def folder() -> Iterator[Path]:
    copy = Path(tempfile.mkdtemp(prefix=f"{PROJECT}-", dir=engine.scratch_dir()))
    shutil.copytree(FOLDER, copy, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "sample.compose.yaml").write_text(SAMPLE, encoding="utf-8")
    copy.chmod(0o755)  # the container's user reads the mounted folder
    try:
        yield copy
    finally:
        for files in (DEV, PROD):
            run(["docker", "compose", "-p", PROJECT, *files, "down", "--volumes", "--remove-orphans", "-t", "2"], copy)
        run(["docker", "image", "rm", IMAGE], copy, 120)
        shutil.rmtree(copy, ignore_errors=True)


def test_the_development_loop_and_production_run_as_the_page_shows(folder: Path) -> None:
    compose(folder, DEV, "up", "-d", "--build", "--wait", "--wait-timeout", "180", timeout=600)
    # Healthy under the mount: app.py found the model at MODEL_PATH, which the mount does not hide.
    logs = compose(folder, DEV, "logs", "api")
    for line in ("api-1  |  * Serving Flask app 'app'", "api-1  |  * Debug mode: on",
                 "api-1  |  * Restarting with stat", "api-1  |  * Debugger is active!", "api-1  |  * Debugger PIN: "):
        assert line in logs, logs
        assert line in PAGE, line
    # The page's `head -2` and `grep -E 'Restarting|Debugger'`.
    lines = logs.splitlines()
    assert "\n    ".join(lines[:2]) in PAGE, logs  # quoted in the Practice's answer, indented
    shown = [line for line in lines if "Restarting" in line or "Debugger" in line]
    assert [line.rsplit(":", 1)[0] for line in shown] == [
        "api-1  |  * Restarting with stat", "api-1  |  * Debugger is active!", "api-1  |  * Debugger PIN"], logs
    forecast(folder, DEV)

    # The throwaway container that brings its own tools, on the service's network; the debug server indents.
    code, out = run(["docker", "run", "--rm", "--label", "io.mastery.sample=1", "--network",
                     f"container:{PROJECT}-api-1", "python:3.13-slim", "python", "-c", HEALTH], folder, 120)
    assert code == 0, out
    assert f"\n{out.splitlines()[-1]}\n" in PAGE, out

    # No `ps` in a slim image.
    code, out = run(["docker", "compose", "-p", PROJECT, *DEV, "exec", "-T", "api", "ps"], folder, 60)
    assert code != 0 and 'exec: "ps": executable file not found in $PATH' in out, out
    assert 'exec: "ps": executable file not found in $PATH' in PAGE

    # Save app.py (a new modification time is enough): the reloader sees it through the mount.
    time.sleep(1.5)
    os.utime(folder / "app.py")
    deadline, logs = time.monotonic() + 30, ""
    detected = "api-1  |  * Detected change in '/srv/app.py', reloading"
    while time.monotonic() < deadline and detected not in logs:
        time.sleep(1)
        logs = compose(folder, DEV, "logs", "api")
    assert detected in logs, logs
    assert detected in PAGE
    compose(folder, DEV, "up", "-d", "--wait", "--wait-timeout", "60", timeout=120)
    forecast(folder, DEV)
    compose(folder, DEV, "down", "--volumes", "-t", "2")

    # Production: gunicorn, a read-only root with an in-memory /tmp, the same answers.
    compose(folder, PROD, "up", "-d", "--wait", "--wait-timeout", "180", timeout=600)
    command = compose(folder, PROD, "exec", "-T", "api", "python", "-c",
                      "print(open('/proc/1/cmdline').read().replace(chr(0), ' '))", timeout=60)
    assert "gunicorn --bind 0.0.0.0:8000" in command, command
    code, out = run(["docker", "compose", "-p", PROJECT, *PROD, "exec", "-T", "api", "touch", "/srv/x"], folder, 60)
    assert code != 0 and "Read-only file system" in out, out
    forecast(folder, PROD)
