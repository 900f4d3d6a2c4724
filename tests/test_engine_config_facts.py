"""What engine-config.md says the engine prints, checked on the engine (the daemon.json samples themselves go
through the course engine's `dockerd --validate` in tests/test_samples.py).

- Log options are checked when a container is created, not when the engine reads daemon.json: a misspelt option
  and an unreadable size fail there, with the messages the page quotes.
- `docker info` of the course engine, with no daemon.json: the default log driver, overlay2, the builtin seccomp
  profile.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from graders import engine

pytestmark = pytest.mark.engine
SAMPLE_LABEL = "io.mastery.sample=1"


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    """The docker CLI on the engine the tests grade on."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **engine.address().env()})


@pytest.mark.parametrize(("driver", "option", "message"), [
    ("local", "max-files=5", "unknown log opt 'max-files' for log driver local"),
    ("json-file", "max-size=ten", "failed to initialize logging driver: invalid size: 'ten'"),
])
def test_a_log_option_is_checked_when_a_container_is_made(driver: str, option: str, message: str) -> None:
    if not engine.buildkit_by_default():
        pytest.skip(f"the page quotes Engine 28 (the course engine); this engine is {engine.major_version()}.x")
    run = docker("run", "--rm", "--label", SAMPLE_LABEL, "--log-driver", driver, "--log-opt", option,
                 "debian:trixie-slim", "true")
    assert run.returncode != 0 and message in run.stderr, run.stderr


def test_the_course_engines_defaults_are_what_the_page_shows() -> None:
    if not engine.buildkit_by_default():
        pytest.skip(f"the page shows the course engine (Engine 28); this engine is {engine.major_version()}.x")
    info = docker("info", "--format", "{{.LoggingDriver}} {{.Driver}} {{json .SecurityOptions}}")
    assert info.stdout.strip() == 'json-file overlay2 ["name=seccomp,profile=builtin"]', info.stdout + info.stderr
