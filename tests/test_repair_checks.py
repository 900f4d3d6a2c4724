"""The repair checks' reading of a compose file, without an engine: which host ports clash (Compose itself
normalises the file, so every spelling of a port is judged alike), and which programs a healthcheck runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders import compose_model
from graders.checks.repair import host_ports_free, probe_programs, shell_commands
from graders.context import GradingContext
from graders.labs import get_lab
from graders.results import Status


def verdict(tmp_path: Path, services: str) -> tuple[Status, str]:
    (tmp_path / "compose.yaml").write_text("services:\n" + services)
    ctx = GradingContext(spec=get_lab("troubleshooting"), submission=tmp_path, run_id="test",
                         compose=compose_model.load(tmp_path))
    outcome = host_ports_free(10, held={8888: "JupyterLab"}).run(ctx)
    return outcome.status, outcome.message


@pytest.mark.parametrize(("services", "said"), [
    ('  a: {image: x, ports: ["8080:80"]}\n  b: {image: x, ports: ["8080:81"]}\n', "both publish host port 8080"),
    ('  a: {image: x, ports: ["8000-8005:80"]}\n  b: {image: x, ports: ["8003:81"]}\n', "both publish host port 8003"),
    ('  a: {image: x, ports: ["127.0.0.1:8080:80"]}\n  b: {image: x, ports: ["8080:81"]}\n', "both publish host port 8080"),
    ('  a: {image: x, ports: ["8080:80", "8080:81"]}\n', "publishes host port 8080 twice"),
    ('  a: {image: x, ports: ["8080:80"], deploy: {replicas: 2}}\n', "the 2 replicas of `a`"),
    ('  a: {image: x, ports: ["8888:80"]}\n', "which JupyterLab holds"),
])
def test_clashes_are_found(tmp_path: Path, services: str, said: str) -> None:
    status, message = verdict(tmp_path, services)
    assert status is Status.FAILED and said in message, message


@pytest.mark.parametrize("services", [
    '  a: {image: x, ports: ["8080:80"]}\n  b: {image: x, ports: ["8081:80"]}\n',
    '  a: {image: x, ports: ["127.0.0.1:8080:80"]}\n  b: {image: x, ports: ["127.0.0.2:8080:80"]}\n',
    '  a: {image: x, ports: ["5353:53/udp"]}\n  b: {image: x, ports: ["5353:53"]}\n',
    '  a: {image: x, ports: ["80"]}\n  b: {image: x, ports: ["80"]}\n',
    '  a: {image: x, ports: ["8000-8002:80"], deploy: {replicas: 3}}\n',
])
def test_separate_ports_pass(tmp_path: Path, services: str) -> None:
    status, message = verdict(tmp_path, services)
    assert status is Status.PASSED, message


@pytest.mark.parametrize(("test", "programs"), [
    (["CMD", "curl", "-f", "http://127.0.0.1/"], ["curl"]),
    (["CMD-SHELL", "curl -f http://127.0.0.1/ || exit 1"], ["curl", "exit"]),
    (["CMD-SHELL", "pg_isready -h 127.0.0.1 -U $${POSTGRES_USER}"], ["pg_isready"]),
    (["CMD-SHELL", "PGCONNECT_TIMEOUT=2 pg_isready && wget -qO- localhost:80 | grep ok"], ["pg_isready", "wget", "grep"]),
    (["CMD-SHELL", "test -f /tmp/ready>/dev/null 2>&1"], ["test"]),
    (["NONE"], []),
])
def test_probe_programs(test: list[str], programs: list[str]) -> None:
    assert probe_programs(test) == programs


def test_unbalanced_quotes_still_name_the_first_program() -> None:
    assert shell_commands("curl 'http://x") == ["curl"]
