"""The Compose lesson's worked example (course/samples/compose/compose.yaml), run as course/compose.md shows it: the
forecast-log stack comes up healthy, answers as the course project's API does, logs each forecast with the replica
that gave it, scales to three replicas, keeps its log across `down` and `up`, and loses it with `down -v`. These are
the outputs the page quotes.

The stack bind-mounts files of its folder (the secret, schema.sql), so it runs from a copy in the folder the engine
shares with this machine, with its API image renamed to a sample's name."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from project_core import as_flask_prints, project_calls

from graders import engine
from graders.spec import REPO_ROOT

FOLDER = REPO_ROOT / "course" / "samples" / "compose"
PROJECT_CALLS = project_calls()
PAGE = (REPO_ROOT / "course" / "compose.md").read_text(encoding="utf-8")
PROJECT = "mastery-sample-forecast-log"
IMAGE = "mastery-sample/compose:forecast-log-api"

# An HTTP call from inside an API container (the course engine publishes on its own loopback, out of reach here):
# prints the status and the body as curl would show it.
CALL = ("import sys, urllib.request, urllib.error\n"
        "data = sys.argv[2].encode() if len(sys.argv) > 2 else None\n"
        "req = urllib.request.Request('http://127.0.0.1:8000' + sys.argv[1], data=data,"
        " headers={'Content-Type': 'application/json'})\n"
        "try: r = urllib.request.urlopen(req, timeout=10); print(r.status, r.read().decode().strip())\n"
        "except urllib.error.HTTPError as e: print(e.code, e.read().decode().strip())")

pytestmark = [pytest.mark.engine, pytest.mark.slow]



class Stack:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def compose(self, *args: str, timeout: float = 300) -> str:
        proc = subprocess.run(["docker", "compose", "-p", PROJECT, "-f", "compose.yaml", "-f", "sample.compose.yaml",
                               *args], cwd=self.folder, capture_output=True, text=True, timeout=timeout)
        out = (proc.stdout + proc.stderr).strip()
        assert proc.returncode == 0, f"docker compose {' '.join(args)}:\n{out}"
        return out

    def call(self, path: str, body: str | None = None, index: int = 1) -> str:
        return self.compose("exec", "-T", "--index", str(index), "api", "python", "-c", CALL, path,
                            *([body] if body is not None else []), timeout=60)

    def psql(self, query: str) -> str:
        return self.compose("exec", "-T", "db", "psql", "-U", "forecastlog", "-d", "forecasts", "-c", query, timeout=60)


@pytest.fixture
def stack() -> Iterator[Stack]:
    folder = Path(tempfile.mkdtemp(prefix=f"{PROJECT}-", dir=engine.scratch_dir()))
    shutil.copytree(FOLDER, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "sample.compose.yaml").write_text(f"services:\n  api:\n    image: {IMAGE}\n", encoding="utf-8")
    try:
        yield Stack(folder)
    finally:
        subprocess.run(["docker", "compose", "-p", PROJECT, "-f", "compose.yaml", "-f", "sample.compose.yaml", "down",
                        "--volumes", "--remove-orphans", "-t", "2"], cwd=folder, capture_output=True, timeout=300)
        subprocess.run(["docker", "image", "rm", IMAGE], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def test_the_forecast_log_stack_runs_as_the_page_shows(stack: Stack) -> None:
    up = stack.compose("up", "-d", "--build", "--wait", "--wait-timeout", "180", timeout=600)
    # The API starts only once the database is healthy.
    db_healthy = up.index(f"Container {PROJECT}-db-1  Healthy")
    assert db_healthy < up.index(f"Container {PROJECT}-api-1  Starting"), up
    ps = {row["Service"]: row for row in map(json.loads, stack.compose("ps", "--format", "json").splitlines())}
    assert not ps["db"]["Publishers"] or all(not p.get("PublishedPort") for p in ps["db"]["Publishers"]), ps["db"]
    assert [p["URL"] for p in ps["api"]["Publishers"] if p.get("PublishedPort")] == ["127.0.0.1"], ps["api"]

    # The project's answer, word for word, and the row it leaves in the log.
    hill = PROJECT_CALLS[0]
    assert stack.call("/forecast", json.dumps(hill["json"])) == f"200 {as_flask_prints(hill['answer'])}"
    assert as_flask_prints(hill["answer"]) in PAGE
    assert stack.call("/forecasts/count") == '200 {"count":1}'
    rows = stack.psql("SELECT station, f.day, f.temperature FROM forecasts, "
                      "jsonb_to_recordset(forecast) AS f(day date, temperature real);")
    assert "\n".join(line.rstrip() for line in rows.splitlines()) in PAGE, rows
    assert stack.call("/ready") == '200 {"status":"ready"}'

    # Three replicas, each logging under its own name.
    stack.compose("up", "-d", "--scale", "api=3", "--wait", "--wait-timeout", "180", timeout=600)
    for index in (2, 3):
        assert stack.call("/forecast", json.dumps({"station": "valley", "days": index}), index=index).startswith("200 ")
    served_by = stack.psql("SELECT DISTINCT served_by FROM forecasts;")
    assert "(3 rows)" in served_by, served_by
    assert len(stack.compose("exec", "-T", "db", "getent", "hosts", "api").splitlines()) == 3

    # `down` keeps the log; `down -v` deletes it.
    stack.compose("down")
    stack.compose("up", "-d", "--wait", "--wait-timeout", "180", timeout=600)
    assert stack.call("/forecasts/count") == '200 {"count":3}'
    stack.compose("down", "-v")
    stack.compose("up", "-d", "--wait", "--wait-timeout", "180", timeout=600)
    assert stack.call("/forecasts/count") == '200 {"count":0}'
