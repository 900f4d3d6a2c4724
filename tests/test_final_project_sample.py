"""What final-project.md quotes from its worked example, checked on the engine.

- Pattern 1 (handoff.compose.yaml): the trainer, the project's train.py, logs its lines and writes model.json to the
  volume; the API, the project's app.py, starts after it and answers as the project's API does; a trainer that
  fails stops `docker compose up` with the message the page quotes, and the API is not started.
- The two common mistakes: the API without a model (FileNotFoundError) and a job writing to a volume at a path the
  image does not own (PermissionError).
- Pattern 2: train_tracked.py records its run, with its parameters and metrics, in a real MLflow server (the
  course's MLflow image, its own store: the page's PostgreSQL-backed server needs the `-full` image, which the
  course engine does not hold).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from project_core import as_flask_prints, project_calls

from graders import engine, images
from graders.spec import REPO_ROOT

pytestmark = [pytest.mark.engine, pytest.mark.slow]

FOLDER = REPO_ROOT / "course" / "samples" / "final-project"
PAGE = (REPO_ROOT / "course" / "final-project.md").read_text(encoding="utf-8")
CALLS = project_calls()
LABEL = "io.mastery.sample=1"
TRAINED = ["harbour  30 days, +0.13 °C a day", "hill     30 days, +0.22 °C a day", "valley   30 days, +0.21 °C a day",
           "saved /models/model.json: 90 readings from 3 stations"]


def docker(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The docker CLI on the engine the tests grade on."""
    return subprocess.run(["docker", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, **engine.address().env()})


def flat(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text)


@pytest.fixture(scope="module")
def handoff(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """handoff.compose.yaml, up under a project name of its own; down with its volumes and images at the end. The
    API's fixed host port is dropped (the calls go through `exec`): test_samples brings the same file up on it,
    and two runs at once would clash ("port is already allocated")."""
    project = f"mastery-sample-final-project-{uuid.uuid4().hex[:8]}"
    unpublished = tmp_path_factory.mktemp("handoff") / "no-host-port.compose.yaml"
    unpublished.write_text("services:\n  api:\n    ports: !reset []\n", encoding="utf-8")
    base = ["compose", "-p", project, "-f", "handoff.compose.yaml", "-f", str(unpublished)]
    try:
        up = docker(*base, "up", "-d", "--build", "--wait", "--wait-timeout", "180", cwd=FOLDER, timeout=600)
        assert up.returncode == 0, up.stdout + up.stderr
        yield base
    finally:
        docker(*base, "down", "--volumes", "--rmi", "local", "--remove-orphans", cwd=FOLDER)


def test_the_trainer_logs_the_projects_lines_and_the_api_answers_as_the_project(handoff: list[str]) -> None:
    logs = docker(*handoff, "logs", "trainer", cwd=FOLDER).stdout
    for line in TRAINED:
        assert f"trainer-1  | {line}" in logs, logs
        assert f"trainer-1  | {line}" in PAGE
    state = docker(*handoff, "ps", "-a", "--format", "{{.Service}} {{.State}} {{.ExitCode}}", cwd=FOLDER).stdout
    assert "trainer exited 0" in state, state
    post = ("import json, sys, urllib.request, urllib.error\n"
            "request = urllib.request.Request('http://127.0.0.1:8000/forecast', data=sys.argv[1].encode(),"
            " headers={'Content-Type': 'application/json'})\n"
            "try: r = urllib.request.urlopen(request, timeout=10); print(r.status, r.read().decode().strip())\n"
            "except urllib.error.HTTPError as e: print(e.code, e.read().decode().strip())")
    for call in CALLS:
        answer = docker(*handoff, "exec", "-T", "api", "python", "-c", post, json.dumps(call["json"]), cwd=FOLDER)
        status, _, body = answer.stdout.strip().partition(" ")
        assert int(status) == call.get("status", 200) and json.loads(body) == call["answer"], answer.stdout + answer.stderr
    first = as_flask_prints(CALLS[0]["answer"])
    assert first in PAGE, "the page quotes the forecast for hill as Flask prints it"


def test_a_failed_training_keeps_the_api_from_starting(handoff: list[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken-trainer.compose.yaml"
    broken.write_text('services:\n  trainer:\n    command: ["python", "train.py", "missing.csv", "/models/model.json"]\n')
    docker(*handoff, "stop", "api", cwd=FOLDER)
    up = docker(*handoff, "-f", str(broken), "up", "-d", cwd=FOLDER)
    message = 'service "trainer" didn\'t complete successfully: exit 1'
    assert up.returncode != 0 and message in up.stdout + up.stderr, up.stdout + up.stderr
    assert message in PAGE
    state = docker(*handoff, "ps", "--format", "{{.Service}}", "--status", "running", cwd=FOLDER).stdout
    assert "api" not in state.split(), state


def test_the_api_without_a_model_and_a_job_without_a_writable_folder_fail_as_the_page_says(handoff: list[str]) -> None:
    image = f"{handoff[2]}-api"
    no_model = docker("run", "--rm", "--label", LABEL, "-e", "MODEL_PATH=/models/model.json", image, timeout=120)
    fault = "FileNotFoundError: [Errno 2] No such file or directory: '/models/model.json'"
    assert fault in no_model.stdout + no_model.stderr, no_model.stdout + no_model.stderr
    assert fault in PAGE
    root_owned = docker("run", "--rm", "--label", LABEL, "--mount", "type=volume,target=/data", image,
                        "python", "train.py", "readings.csv", "/data/model.json", timeout=120)
    fault = "PermissionError: [Errno 13] Permission denied: '/data/model.json.tmp'"
    assert root_owned.returncode == 1 and fault in root_owned.stderr, root_owned.stdout + root_owned.stderr
    assert fault in PAGE


def test_the_tracked_trainer_records_its_run_in_mlflow(tmp_path: Path) -> None:
    images.prepare([images.MLFLOW_IMAGE], say=lambda _message: None)
    stack = tmp_path / "tracked.compose.yaml"
    stack.write_text(json.dumps({
        "services": {
            "mlflow": {
                "image": images.MLFLOW_IMAGE,
                "command": ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000",
                            "--backend-store-uri", "sqlite:////tmp/mlflow.db", "--allowed-hosts", "mlflow:5000,127.0.0.1:5000"],
                "healthcheck": {"test": ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen("
                                         "'http://127.0.0.1:5000/health', timeout=4)"],
                                "interval": "2s", "timeout": "5s", "retries": 90},
            },
            "trainer": {
                "build": str(FOLDER),
                "command": ["python", "train_tracked.py", "readings.csv", "/models/model.json"],
                "environment": {"MLFLOW_TRACKING_URI": "http://mlflow:5000"},
                "volumes": ["models:/models"],
                "depends_on": {"mlflow": {"condition": "service_healthy"}},
                "healthcheck": {"disable": True},
            },
        },
        "volumes": {"models": {}},
    }))
    project = f"mastery-sample-final-project-tracked-{uuid.uuid4().hex[:8]}"
    base = ["compose", "-p", project, "-f", str(stack)]
    try:
        up = docker(*base, "up", "-d", "--build", "--wait", "--wait-timeout", "240", "mlflow", cwd=tmp_path, timeout=600)
        assert up.returncode == 0, up.stdout + up.stderr
        up = docker(*base, "up", "-d", "trainer", cwd=tmp_path, timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        done = docker(*base, "wait", "trainer", cwd=tmp_path, timeout=300)
        assert done.returncode == 0 and "status code 0" in done.stdout + done.stderr, done.stdout + done.stderr
        logs = docker(*base, "logs", "trainer", cwd=tmp_path).stdout
        for line in TRAINED:
            assert f"trainer-1  | {line}" in logs, logs
        logged = re.search(r"trainer-1  \| logged run ([0-9a-f]{32}) to http://mlflow:5000", logs)
        assert logged, logs
        assert re.search(r"trainer-1  \| logged run [0-9a-f]{32} to http://mlflow:5000", PAGE), logs
        get = ("import json, sys, urllib.request\n"
               "r = json.load(urllib.request.urlopen('http://127.0.0.1:5000/api/2.0/mlflow/runs/get?run_id=' + sys.argv[1]))\n"
               "print(json.dumps(r['run']['data']))")
        data = docker(*base, "exec", "-T", "mlflow", "python", "-c", get, logged[1], cwd=tmp_path)
        assert data.returncode == 0, data.stdout + data.stderr
        run = json.loads(data.stdout)
        assert {m["key"] for m in run["metrics"]} == {"rmse_harbour", "rmse_hill", "rmse_valley"}, data.stdout
        assert {p["key"]: p["value"] for p in run["params"]} == {"readings": "readings.csv", "rows": "90"}, data.stdout
        assert "rmse_hill" in PAGE
    finally:
        docker(*base, "down", "--volumes", "--rmi", "local", "--remove-orphans", cwd=tmp_path)
