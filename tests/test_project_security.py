"""Security's worked example, step 8 of the course project: the forecast API behind a bearer token, run with the
locked-down settings of its compose.yaml and the token mounted as a file at /run/secrets/api_token, as the page
shows. Without a secret mounted the image answers 503 to every forecast, so samples.toml cannot hold its answers:
this test builds the image, mounts a secret file, and checks what the page quotes (401 without or with a wrong
token, the project's own answers with the right one, what the container may do), and the messages of the
page's common mistakes, each made by changing one setting."""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from container_logs import wait_for_log
from project_core import project_calls

from graders.exec_probe import exec_in
from graders.spec import REPO_ROOT

pytestmark = [pytest.mark.engine, pytest.mark.slow]

FOLDER = REPO_ROOT / "course" / "samples" / "security"
PAGE = REPO_ROOT / "course" / "security.md"
TAG = "mastery-sample/security:forecast-token"
SAMPLE_LABEL = "io.mastery.sample"
SECRET_TARGET = "/run/secrets/api_token"


def page_text() -> str:
    """The page, with a quoted line that wraps joined again."""
    return re.sub(r"\s*\n\s*", " ", PAGE.read_text(encoding="utf-8"))


def compose_settings() -> dict[str, Any]:
    """compose.yaml's runtime settings for the service, as docker-py's arguments: the test runs what the page runs."""
    service = yaml.safe_load((FOLDER / "compose.yaml").read_text(encoding="utf-8"))["services"]["api"]
    tmpfs = dict(entry.split(":", 1) for entry in service["tmpfs"])
    assert service["secrets"] == ["api_token"]
    return {"read_only": service["read_only"], "tmpfs": tmpfs, "cap_drop": service["cap_drop"],
            "security_opt": service["security_opt"], "user": service["user"], "pids_limit": service["pids_limit"],
            "mem_limit": service["mem_limit"], "nano_cpus": int(float(service["cpus"]) * 1e9)}


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    from graders.build import build_image
    from graders.engine import client

    build_image(FOLDER, FOLDER / "Dockerfile", TAG, {SAMPLE_LABEL: "1"}, timeout_s=600)
    try:
        yield TAG
    finally:
        with contextlib.suppress(Exception):
            client().images.remove(TAG, noprune=True)


@pytest.fixture()
def secret_dir() -> Iterator[Path]:
    """A folder the engine sees at the same path (the course engine shares one), with `secrets/` as the page makes it."""
    from graders import engine

    if not engine.site().sees_files:
        pytest.skip("this engine cannot bind-mount files of this machine")
    folder = Path(tempfile.mkdtemp(prefix="mastery-sample-security-", dir=engine.scratch_dir()))
    try:
        (folder / "secrets").mkdir(mode=0o700)
        yield folder / "secrets"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_token(secret_dir: Path, name: str = "api_token", mode: int = 0o644) -> tuple[Path, str]:
    token = secrets.token_hex(16)
    path = secret_dir / name
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(mode)
    return path, token


@contextlib.contextmanager
def started(image: str, token_file: Path | None, command: list[str] | None = None, **settings: Any) -> Iterator[Any]:
    from docker.types import Mount

    from graders.engine import client, site

    mounts = [Mount(SECRET_TARGET, str(token_file), type="bind", read_only=True)] if token_file else []
    container = client().containers.create(image, command, labels={SAMPLE_LABEL: "1"}, mounts=mounts,
                                           healthcheck={"interval": 500_000_000},
                                           ports={"8000/tcp": (site().publish_on,)}, **settings)
    try:
        container.start()
        yield container
    finally:
        container.remove(force=True)


def base_url(container: Any) -> str:
    from graders.container import engine_host

    container.reload()
    return f"http://{engine_host()}:{container.attrs['NetworkSettings']['Ports']['8000/tcp'][0]['HostPort']}"


def wait_healthy(container: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        container.reload()
        if (container.attrs["State"].get("Health") or {}).get("Status") == "healthy":
            return
        assert container.status in ("created", "running"), container.logs().decode(errors="replace")
        time.sleep(0.5)
    pytest.fail(f"not healthy after {seconds} s:\n{container.logs().decode(errors='replace')}")


def exec_out(container: Any, *argv: str) -> tuple[int, str]:
    code, out = exec_in(container.id, list(argv), 60)
    return code, out.strip()


def test_the_api_answers_only_with_the_token_and_the_container_is_locked_down(image: str, secret_dir: Path) -> None:
    token_file, token = write_token(secret_dir)
    page = page_text()
    with started(image, token_file, **compose_settings()) as container:
        wait_healthy(container)
        url = base_url(container) + "/forecast"
        body = {"station": "hill", "days": 3}
        refused = {"error": "missing or wrong token"}
        for headers in ({}, {"Authorization": "Bearer guess"}, {"Authorization": token}):
            answer = requests.post(url, json=body, headers=headers, timeout=10)
            assert (answer.status_code, answer.json()) == (401, refused), headers
        for call in project_calls():  # with the token, the project's own answers, unchanged
            answer = requests.post(url, json=call["json"], headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert (answer.status_code, answer.json()) == (call.get("status", 200), call["answer"]), call
        health = requests.get(base_url(container) + "/health", timeout=10)
        assert health.json() == {"status": "ok", "stations": ["harbour", "hill", "valley"]}

        quoted = {
            "id": exec_out(container, "id"),
            "touch /srv": exec_out(container, "touch", "/srv/notes.txt"),
            "touch /tmp": exec_out(container, "touch", "/tmp/notes.txt"),
            "capabilities": exec_out(container, "grep", "CapEff", "/proc/1/status"),
        }
        assert quoted["id"] == (0, "uid=10001(app) gid=10001(app) groups=10001(app)")
        assert quoted["touch /srv"] == (1, "touch: cannot touch '/srv/notes.txt': Read-only file system")
        assert quoted["touch /tmp"] == (0, "")
        assert quoted["capabilities"] == (0, "CapEff:\t0000000000000000")
        _, env = exec_out(container, "env")
        assert not [line for line in env.splitlines() if "token" in line.lower()], env
        host = container.attrs["HostConfig"]
        inspected = f"{str(host['ReadonlyRootfs']).lower()} [{' '.join(host['CapDrop'])}] [{' '.join(host['SecurityOpt'])}]"
        assert inspected == "true [ALL] [no-new-privileges:true]"
    shown = [quoted["id"][1], quoted["touch /srv"][1], quoted["capabilities"][1], inspected,
             '{"error":"missing or wrong token"}',
             '{"forecast":[{"day":"2026-03-31","temperature":12.6},{"day":"2026-04-01","temperature":12.9},'
             '{"day":"2026-04-02","temperature":13.1}],"station":"hill"}']
    assert not [line for line in shown if line not in page], "the page must quote what the container printed"


def test_the_common_mistakes_print_what_the_page_quotes(image: str, secret_dir: Path) -> None:
    """Each symptom from the worked example with one setting changed."""
    page = page_text()
    locked = {**compose_settings()}
    token_file, _ = write_token(secret_dir)

    no_tmp = "FileNotFoundError: [Errno 2] No usable temporary directory found in ['/tmp', '/var/tmp', '/usr/tmp', '/srv']"
    with started(image, token_file, **{**locked, "tmpfs": None}) as container:
        logs = wait_for_log(container, no_tmp, timeout=30)
    assert no_tmp in logs, logs

    control = "Control server error: [Errno 30] Read-only file system: '/home/app'"
    cmd = ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "secure_app:app"]  # no --no-control-socket
    with started(image, token_file, cmd, **locked) as container:
        logs = wait_for_log(container, control, timeout=30)
    assert control in logs, logs

    root_only, token = write_token(secret_dir, "api_token_600", mode=0o600)
    denied = "cannot read the API token: [Errno 13] Permission denied: '/run/secrets/api_token'"
    with started(image, root_only, **locked) as container:
        wait_healthy(container)
        answer = requests.post(base_url(container) + "/forecast", json={"station": "hill"},
                               headers={"Authorization": f"Bearer {token}"}, timeout=10)
        logs = wait_for_log(container, denied, timeout=30)
    assert answer.status_code == 503, answer.text
    assert denied in logs, logs

    assert not [text for text in (no_tmp, control, denied) if text not in page], "the page must quote these messages"
