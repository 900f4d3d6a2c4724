"""The Dockerfile model: durations, healthcheck options, validation messages, BuildKit detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.dockerfile_model import expand, parse_dockerfile, parse_duration
from graders.errors import SubmissionError


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("500ms", 0.5), ("1m30s", 90), ("2h", 7200)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "30", "s", "10x", "5s junk"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return path


def test_healthcheck_options_and_final_stage(tmp_path: Path) -> None:
    df = parse_dockerfile(write(tmp_path, (
        "FROM python:3.13-slim AS build\nHEALTHCHECK CMD true\n"
        "FROM python:3.13-slim\nUSER app\n"
        "HEALTHCHECK --interval=10s --timeout=3s --retries=2 CMD [\"python\", \"-c\", \"1\"]\nCMD [\"x\"]\n")))
    hc = df.healthcheck()
    assert hc is not None
    assert (hc.interval, hc.timeout, hc.retries, hc.test) == (10, 3, 2, ("CMD", "python", "-c", "1"))
    assert df.user == "app"
    assert len(df.stages) == 2
    assert not df.needs_buildkit


def test_shell_form_healthcheck_and_none(tmp_path: Path) -> None:
    hc = parse_dockerfile(write(tmp_path, "FROM a\nHEALTHCHECK CMD curl -f http://x/ || exit 1\n")).healthcheck()
    assert hc is not None and hc.test == ("CMD-SHELL", "curl -f http://x/ || exit 1")
    hc = parse_dockerfile(write(tmp_path, "FROM a\nHEALTHCHECK NONE\n")).healthcheck()
    assert hc is not None and hc.disabled


@pytest.mark.parametrize(("text", "expected"), [
    ("", "has no instructions yet"),
    ("# only a comment\n", "has no instructions yet"),
    ("FORM python:3.13-slim\n", "line 1: unknown instruction 'FORM'"),
    ("RUN echo hi\n", "line 1: RUN comes before any FROM"),
    ("ARG V=1\n", "has no FROM instruction"),
    ("FROM a\nHEALTHCHECK --interval=soon CMD true\n", "line 2: HEALTHCHECK 'soon' is not a duration"),
    ("FROM a\nHEALTHCHECK --every=1s CMD true\n", "unknown option --every"),
])
def test_bad_dockerfiles_name_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(SubmissionError) as info:
        parse_dockerfile(write(tmp_path, text))
    assert expected in info.value.message
    assert info.value.hint


def test_missing_dockerfile(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match="There is no Dockerfile"):
        parse_dockerfile(tmp_path / "Dockerfile")


@pytest.mark.parametrize("line", [
    "RUN --mount=type=cache,target=/root/.cache/pip pip install x",
    "COPY --chmod=755 a /a",
    "COPY --link a /a",
    "COPY <<EOF /a\nhello\nEOF",
])
def test_buildkit_features_are_detected(tmp_path: Path, line: str) -> None:
    assert parse_dockerfile(write(tmp_path, f"FROM a\n{line}\n")).needs_buildkit


def test_a_base_named_through_build_arguments_reads_as_buildkit_reads_it(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        'ARG PYTHON_VERSION=3.13\nARG VARIANT="slim"\nARG UNSET\n'
        "FROM python:${PYTHON_VERSION}-${VARIANT} AS build\n"
        "FROM python:${UNSET:-3.12}-slim${UNSET:+-never}\nARG LATER=1\nFROM $LATER\n")
    stages = parse_dockerfile(tmp_path / "Dockerfile").stages
    assert [s.base for s in stages] == ["python:3.13-slim", "python:3.12-slim", ""]
    assert stages[0].written == "python:${PYTHON_VERSION}-${VARIANT}"
    assert expand("${A-x}${B-y}$C", {"A": ""}) == "y"
