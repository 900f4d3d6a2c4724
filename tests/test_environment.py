"""The compose learning environment (compose.yaml), brought up for real on the host's engine under a project name
of its own: all three services healthy, a learner's round trip in JupyterLab in headless Chromium (a Dockerfile
written in the file editor, the check cell's verdict failing then passing), the lesson's link to its lab, files
and progress kept across `down`/`up`, a fork bomb in the learner's engine that breaks only that engine, and
`down -v` leaving nothing behind. Screenshots go under test-artifacts/environment-*.png."""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from headless import chromium

from graders.course_engine import control
from graders.labs import course_images, get_lab
from graders.spec import REPO_ROOT
from graders.submission import materialize, variant

SPEC = get_lab("ml-api")
ARTIFACTS = REPO_ROOT / "test-artifacts"
UP_TARGET_S = 180.0  # the target for a warm `docker compose up --wait`
pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.browser, pytest.mark.alone]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Environment:
    project: str
    env: dict[str, str]
    lab: str
    docs: str
    token: str

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["docker", "compose", "-p", self.project, *args], cwd=REPO_ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            pytest.fail(f"docker compose {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done

    def in_lab(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.compose("exec", "-T", "lab", *argv, timeout=timeout, check=False)

    def up(self) -> float:
        started = time.monotonic()
        self.compose("up", "--wait", "--wait-timeout", "300", timeout=400)
        return time.monotonic() - started

    def health(self, service: str) -> str:
        ps = self.compose("ps", "--all", "--format", "json", service)
        rows = [json.loads(line) for line in ps.stdout.splitlines() if line.strip()]
        return str(rows[0].get("Health", "")) if rows else "absent"

    def leftovers(self) -> list[str]:
        label = f"label=com.docker.compose.project={self.project}"
        found = []
        for kind in ("container", "volume", "network"):
            listed = subprocess.run(["docker", kind, "ls", *(["-a"] if kind == "container" else []), "-q", "--filter", label],
                                    env=self.env, capture_output=True, text=True, timeout=60)
            found += [f"{kind} {line}" for line in listed.stdout.split()]
        return found


@pytest.fixture(scope="module")
def environment() -> Iterator[Environment]:
    ARTIFACTS.mkdir(exist_ok=True)
    lab_port, docs_port, token = _free_port(), _free_port(), secrets.token_hex(16)
    project = f"mastery-envtest-{secrets.token_hex(3)}"
    base = subprocess.run([str(REPO_ROOT / ".venv/bin/mastery"), "--engine", "host", "engine", "image"],
                          capture_output=True, text=True, timeout=900, env=control.host_env())
    assert base.returncode == 0, base.stderr
    env = {**control.host_env(), "JUPYTER_TOKEN": token, "LAB_PORT": str(lab_port), "DOCS_PORT": str(docs_port),
           "MASTERY_ENGINE_BASE": base.stdout.strip(), "MASTERY_PREPARE_IMAGES": "0",
           "MASTERY_ENGINE_PIDS": "1024"}  # low, so that the fork bomb meets the wall in seconds
    made = Environment(project, env, f"http://127.0.0.1:{lab_port}", f"http://127.0.0.1:{docs_port}", token)
    try:
        started = time.monotonic()
        made.compose("build", timeout=1800)
        print(f"\nenvironment: docker compose build took {time.monotonic() - started:.1f} s")
        print(f"environment: docker compose up --wait took {made.up():.1f} s (first start of this project)")
        refs = course_images([SPEC.id])
        seeded = subprocess.run(["docker", "save", *refs], env=env, capture_output=True, timeout=600)
        assert seeded.returncode == 0, seeded.stderr[-500:]
        loaded = subprocess.run(["docker", "compose", "-p", project, "exec", "-T", "engine", "docker", "-H",
                                 "unix:///run/mastery/docker.sock", "load", "-q"], input=seeded.stdout, cwd=REPO_ROOT,
                                env=env, capture_output=True, timeout=600)
        assert loaded.returncode == 0, loaded.stderr[-500:]
        yield made
    finally:
        made.compose("down", "-v", "--remove-orphans", "--timeout", "20", timeout=300, check=False)


def test_every_service_is_healthy_and_locked_down(environment: Environment) -> None:
    for service in ("docs", "lab", "engine"):
        assert environment.health(service) == "healthy", service
    assert requests.get(f"{environment.lab}/api/status", timeout=10).status_code == 403, "JupyterLab must want its token"
    assert requests.get(f"{environment.lab}/api/status", params={"token": environment.token}, timeout=10).ok
    assert requests.get(f"{environment.docs}/", timeout=10).ok
    config = json.loads(environment.compose("config", "--format", "json").stdout)
    for name, service in config["services"].items():
        mounts = [str(v.get("source", "")) for v in service.get("volumes", [])]
        assert not any("docker.sock" in m for m in mounts), f"{name} mounts a Docker socket of the host: {mounts}"
        assert not service.get("privileged"), name
    assert not config["services"]["engine"].get("ports"), "the engine must not be published to the host"
    who = environment.in_lab("id", "-u")
    assert who.stdout.strip() == "1000", who
    version = environment.in_lab("docker", "version", "--format", "{{.Server.Version}}")
    assert version.returncode == 0 and version.stdout.strip().startswith("28."), version


def _dockerfile(solution: bool) -> str:
    """The solution's Dockerfile, or the broken variant whose server listens on 127.0.0.1 only."""
    scratch = Path(materialize(SPEC, None if solution else variant(SPEC, "localhost-bind")))
    try:
        return (scratch / "Dockerfile").read_text()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write_in_editor(page, environment: Environment, text: str) -> None:  # type: ignore[no-untyped-def]
    """Open ml-api/Dockerfile in JupyterLab's file editor, replace its text, save (as a learner would)."""
    page.goto(f"{environment.lab}/lab/tree/{SPEC.id}/Dockerfile?token={environment.token}", timeout=60_000)
    editor = page.wait_for_selector(".jp-FileEditor .cm-content", timeout=60_000)
    assert editor is not None
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)  # no key events: the editor's auto-indent leaves the text as it is
    page.keyboard.press("Control+S")
    for _ in range(60):
        saved = environment.in_lab("cat", f"/opt/course/labs/{SPEC.id}/Dockerfile")
        if saved.stdout.strip() == text.strip():
            return
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not save the Dockerfile: {saved.stdout[:300]!r}")


def _run_check(page, environment: Environment) -> str:  # type: ignore[no-untyped-def]
    """Open the lab's notebook, run every cell, and return the verdict table's text."""
    from tests.test_jupyterlab_browser import _run_all_cells

    page.goto(f"{environment.lab}/lab/tree/{SPEC.id}/{SPEC.id}.ipynb?token={environment.token}", timeout=60_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    # A notebook JupyterLab saved after an earlier check shows that check's table: clear it before running.
    page.get_by_role("menuitem", name="Edit").click()
    page.get_by_text("Clear Outputs of All Cells", exact=True).click()
    page.wait_for_function("document.querySelectorAll('table.mastery-report').length === 0", timeout=30_000)
    _run_all_cells(page)
    table = page.wait_for_selector("table.mastery-report", timeout=420_000)
    assert table is not None
    page.locator("table.mastery-report").scroll_into_view_if_needed()
    return page.locator("table.mastery-report").inner_text()


def test_a_learner_checks_their_lab_in_jupyterlab(environment: Environment) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = chromium(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            _write_in_editor(page, environment, _dockerfile(solution=False))
            text = _run_check(page, environment)
            page.screenshot(path=str(ARTIFACTS / "environment-failing-check.png"))
            assert "failed" in text and "GET /health" in text, text
            assert "Hint:" in text and "0.0.0.0" in text, text
            assert f"{SPEC.total_points:g}/{SPEC.total_points:g} points" not in text

            _write_in_editor(page, environment, _dockerfile(solution=True))
            text = _run_check(page, environment)
            page.screenshot(path=str(ARTIFACTS / "environment-passing-check.png"))
            assert text.count("passed") == len(SPEC.checks), text
            assert f"{SPEC.total_points:g}/{SPEC.total_points:g} points" in text, text
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "environment-failed.png"), full_page=True)
            raise
        finally:
            browser.close()
    progress = environment.in_lab("mastery", "progress", "--json")
    assert progress.returncode == 0, progress.stderr
    entry = next(e for e in json.loads(progress.stdout) if e["id"] == SPEC.id)
    assert entry["state"] == "passed" and entry["score"] == entry["max_score"], entry


def test_the_lesson_links_to_its_lab_in_jupyterlab(environment: Environment) -> None:
    from playwright.sync_api import sync_playwright

    lesson = SPEC.lesson.removesuffix(".md")
    with sync_playwright() as pw:
        browser = chromium(pw)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            page.goto(f"{environment.lab}/lab?token={environment.token}", timeout=60_000)  # signed in, as after the first visit
            page.goto(f"{environment.docs}/{lesson}/#lab-{SPEC.id}", timeout=60_000)
            link = page.locator(f"a.mastery-lab-link[href*='{SPEC.id}.ipynb']").first
            link.wait_for(state="visible", timeout=30_000)
            href = link.get_attribute("href") or ""
            assert href.startswith(environment.lab), f"the link should open this environment's JupyterLab: {href}"
            page.screenshot(path=str(ARTIFACTS / "environment-lesson-link.png"))
            link.click()
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            assert f"{SPEC.id}/{SPEC.id}.ipynb" in page.url, page.url
            page.screenshot(path=str(ARTIFACTS / "environment-lab-from-lesson.png"))
        finally:
            browser.close()


def test_down_and_up_keep_files_and_progress(environment: Environment) -> None:
    marker = f"# kept across down and up {secrets.token_hex(4)}\n"
    wrote = environment.in_lab("sh", "-c", f"printf '{marker}' > /opt/course/labs/{SPEC.id}/notes.txt")
    assert wrote.returncode == 0, wrote.stderr
    before = environment.in_lab("mastery", "progress", "--json").stdout
    environment.compose("down", "--timeout", "20", timeout=300)
    assert not [x for x in environment.leftovers() if x.startswith("container")]
    took = environment.up()
    print(f"\nenvironment: warm docker compose up --wait took {took:.1f} s (target {UP_TARGET_S:.0f} s)")
    assert took < UP_TARGET_S
    assert environment.in_lab("cat", f"/opt/course/labs/{SPEC.id}/notes.txt").stdout == marker
    assert environment.in_lab("mastery", "progress", "--json").stdout == before
    images = environment.in_lab("docker", "image", "inspect", "python:3.13-slim", "--format", "{{.Id}}")
    assert images.returncode == 0, "the engine's images live on its volume and survive down/up"


def _engine_pids(environment: Environment) -> tuple[int, int]:
    cid = environment.compose("ps", "-q", "engine").stdout.strip()
    full = subprocess.run(["docker", "inspect", "--format", "{{.Id}}", cid], env=environment.env, capture_output=True,
                          text=True, timeout=30).stdout.strip()
    folder = next(Path("/sys/fs/cgroup/pids").glob(f"**/{full}"), None) if Path("/sys/fs/cgroup/pids").is_dir() else None
    if folder is None:
        return -1, -1
    limit = (folder / "pids.max").read_text().strip()
    return int((folder / "pids.current").read_text()), int(limit) if limit.isdigit() else -1


def test_a_fork_bomb_breaks_only_the_learners_engine(environment: Environment) -> None:
    bomb = environment.in_lab("docker", "run", "-d", "--name", "bomb", "python:3.13-slim", "sh", "-c",
                              "b() { b | b & }; b; sleep 600")
    assert bomb.returncode == 0, bomb.stderr
    try:
        deadline = time.monotonic() + 60
        current, limit = _engine_pids(environment)
        while time.monotonic() < deadline and current < limit - 16:
            time.sleep(1)
            current, limit = _engine_pids(environment)
        print(f"\nenvironment: the engine's processes {current} of {limit}")
        if limit > 0:
            assert current >= limit - 16, "the fork bomb should have met the engine's process limit"
        for _ in range(4):  # docs and lab go on answering while the engine is full
            assert requests.get(f"{environment.docs}/", timeout=10).ok
            assert requests.get(f"{environment.lab}/api/status", params={"token": environment.token}, timeout=10).ok
            time.sleep(2)
        assert environment.health("docs") == "healthy" and environment.health("lab") == "healthy"
    finally:
        environment.compose("restart", "--timeout", "10", "engine", timeout=300)
    environment.up()  # waits until the engine is healthy again
    removed = environment.in_lab("docker", "rm", "-f", "bomb")
    assert removed.returncode == 0, removed.stderr
    assert environment.in_lab("docker", "run", "--rm", "python:3.13-slim", "python", "-c", "print('ok')").stdout.strip() == "ok"


def test_engine_commands_speak_of_the_environment(environment: Environment) -> None:
    made = environment.in_lab("sh", "-c", "docker volume create leftover-data && docker network create leftover-net && "
                                          "docker create --name leftover python:3.13-slim true")
    assert made.returncode == 0, made.stderr
    reset = environment.in_lab("mastery", "engine", "reset", "--yes")
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert "the course's base images stay" in reset.stdout, reset.stdout
    listed = environment.in_lab("sh", "-c", "docker ps -aq; docker volume ls -q; docker network ls -q --filter name=leftover")
    assert listed.stdout.split() == [], listed.stdout
    assert environment.in_lab("docker", "image", "inspect", "python:3.13-slim").returncode == 0
    status = environment.in_lab("mastery", "engine", "status")
    assert status.returncode == 0 and "the environment's `engine` service" in status.stdout, status.stdout
    forward = environment.in_lab("mastery", "engine", "forward")
    assert forward.returncode == 1 and "nothing is forwarded" in forward.stdout, forward.stdout
    doctor = environment.in_lab("env", "COLUMNS=250", "mastery", "doctor")
    assert "Base images (first start)" in doctor.stdout and "not in the compose environment" in doctor.stdout, doctor.stdout


def test_down_v_leaves_nothing(environment: Environment) -> None:
    environment.compose("down", "-v", "--remove-orphans", "--timeout", "20", timeout=300)
    assert environment.leftovers() == []
