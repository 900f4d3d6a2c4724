"""One-off jobs in a stack, as Compose's `up --wait` treats them, and the durations Compose writes, read without
an engine: a job another service awaits with `service_completed_successfully` is done once it exited 0, any
other stopped container is down; a healthcheck's declared interval is what a learner's own `up` waits for."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders import compose_model
from graders.durations import seconds_or_zero
from graders.stack import awaited_jobs, finished_well

PIPELINE = """services:
  train:
    image: python:3.13-slim
  api:
    image: python:3.13-slim
    depends_on:
      train: {condition: service_completed_successfully}
  notebook:
    image: python:3.13-slim
    depends_on: [api]
"""


def test_only_a_job_awaited_for_completion_is_a_job(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(PIPELINE)
    services = compose_model.load(tmp_path).services  # Compose writes the short form as condition service_started
    assert awaited_jobs(services) == {"train"}


@pytest.mark.parametrize(("state", "well"), [
    ({"Status": "exited", "ExitCode": 0}, True),
    ({"Status": "exited", "ExitCode": 1}, False),
    ({"Status": "exited", "ExitCode": 0, "OOMKilled": True}, False),
    ({"Status": "running", "ExitCode": 0}, False),
    ({"Status": "created", "ExitCode": 0}, False),
])
def test_finished_well_means_exited_zero_on_its_own(state: dict[str, object], well: bool) -> None:
    assert finished_well(state) is well


@pytest.mark.parametrize(("text", "seconds"), [("5s", 5.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("", 0.0)])
def test_compose_durations_in_seconds(text: str, seconds: float) -> None:
    assert seconds_or_zero(text) == pytest.approx(seconds)
