"""A submitted stack is untrusted: whatever is wrong with it becomes a message on compose_valid (or
stack_healthy), nothing that reaches past the containers is ever started, and nothing is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.build import MAX_CONTEXT_BYTES
from graders.labs import get_lab
from graders.results import Status
from graders.runner import grade
from graders.submission import materialize

pytestmark = [pytest.mark.engine]
SPEC = get_lab("secure-runtime")


def solution(tmp_path: Path) -> Path:
    return materialize(SPEC, into=tmp_path / "sub")


def compose_verdict(folder: Path) -> tuple[str, str, set[str]]:
    report = grade(SPEC, folder)
    first = report.result("compose_valid")
    assert first.status is Status.FAILED
    return first.message, first.hint, report.failed_names()


def test_no_compose_file_says_what_to_write(tmp_path: Path, no_leftovers: None) -> None:
    folder = solution(tmp_path)
    (folder / "compose.yaml").unlink()
    said, hint, failed = compose_verdict(folder)
    assert "no compose file" in said and "compose.yaml" in hint
    assert failed == {c.name for c in SPEC.checks}


def test_a_folder_too_large_to_copy_is_refused_before_the_copy(tmp_path: Path, no_leftovers: None) -> None:
    folder = solution(tmp_path)
    with (folder / "dump.bin").open("wb") as f:
        f.truncate(MAX_CONTEXT_BYTES + 1)  # sparse: costs no disk
    said, hint, _ = compose_verdict(folder)
    assert "more than 300 MB" in said and hint


@pytest.mark.parametrize(("line", "reason"), [
    ("    privileged: true", "privileged: true"),
    ("    network_mode: host", "network_mode: host"),
    ("    volumes: [/var/run/docker.sock:/var/run/docker.sock]", "engine's socket"),
    ("    volumes: [/etc:/host-etc:ro]", "outside your folder"),
])
def test_unsafe_stacks_are_refused_and_nothing_starts(tmp_path: Path, line: str, reason: str, no_leftovers: None) -> None:
    folder = solution(tmp_path)
    compose = folder / "compose.yaml"
    compose.write_text(compose.read_text().replace("    restart: unless-stopped\n", f"    restart: unless-stopped\n{line}\n"))
    said, hint, failed = compose_verdict(folder)
    assert said.startswith("Refused before anything started") and reason in said and hint
    assert failed == {c.name for c in SPEC.checks}


def test_a_service_that_never_gets_healthy_reports_its_probe(tmp_path: Path, no_leftovers: None) -> None:
    folder = solution(tmp_path)
    dockerfile = folder / "api" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("127.0.0.1:8000/health", "127.0.0.1:8000/nope"))
    report = grade(SPEC, folder)
    healthy = report.result("stack_healthy")
    assert healthy.status is Status.FAILED
    assert "`api` is unhealthy" in healthy.message and "404" in healthy.message, healthy.message
    assert report.result("read_only_root").message.startswith("Not checked")
