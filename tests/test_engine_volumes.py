"""The volume checks of engine-state labs (graders/checks/engine_volumes.py): a tar is compared with a volume by its
files whichever way it was made, a saved query by the numbers the dataset gives, and a volume is read through a
never-started, read-only helper that the grader removes at once, leaving the learner's volume as it was."""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from graders import engine
from graders.checks.engine_volumes import (
    backup_matches,
    query_saved,
    same_files,
    volume_holds,
)
from graders.context import GradingContext
from graders.labels import RUN_LABEL
from graders.labs import get_lab
from graders.learner_objects import LearnerObjects
from graders.learner_volumes import MAX_BYTES, Volume, read_volume
from graders.results import Status

LAB = get_lab("essential-commands")
CSV = b"station,day,temperature\nnorth,2026-03-01,6.5\nsouth,2026-03-01,11.75\n"


def _tar(files: dict[str, bytes], gz: bool = False) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz" if gz else "w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def _context(folder: Path, **files: str) -> GradingContext:
    ctx = GradingContext(spec=LAB, submission=folder, run_id="0" * 12)
    ctx.handed_in, ctx.learner = dict(files), LearnerObjects()
    return ctx


def _read(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}  # type: ignore[union-attr]


def test_a_tar_matches_the_volume_however_it_was_made() -> None:
    volume = {"measurements.csv": CSV}
    for members in ({"./measurements.csv": CSV}, {"measurements.csv": CSV}, {"data/measurements.csv": CSV}):
        assert same_files({k.removeprefix("./"): v for k, v in members.items()}, volume), members
    assert same_files(_read(_tar({"data/measurements.csv": CSV})), volume)
    assert not same_files({"measurements.csv": CSV + b"x"}, volume)
    assert not same_files({"measurements.csv": CSV, "extra.csv": b""}, volume)
    assert not same_files({}, volume)


def test_the_query_is_judged_by_the_numbers_the_dataset_gives(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "measurements.csv").write_bytes(CSV)  # 2 rows, mean 9.125 -> 9.13 as PostgreSQL rounds
    check = query_saved(15, "query.txt", "data/measurements.csv", column=2, command="docker exec …")
    assert check.run(_context(tmp_path, **{"query.txt": "2|9.13\n"})).status is Status.PASSED  # not 9.12, half-even
    assert check.run(_context(tmp_path, **{"query.txt": "2|9.12\n"})).status is Status.FAILED
    (tmp_path / "data" / "measurements.csv").write_bytes(CSV.replace(b"11.75", b"11.5"))  # mean 9.0
    assert check.run(_context(tmp_path, **{"query.txt": "2|9.00\n"})).status is Status.PASSED
    table = " count | round \n-------+-------\n     2 |  9.00\n(1 row)\n"
    assert check.run(_context(tmp_path, **{"query.txt": table})).status is Status.PASSED
    empty = check.run(_context(tmp_path, **{"query.txt": "0|\n"}))
    assert empty.status is Status.FAILED and "`0|`" in empty.message and "\\copy" in empty.hint


def test_a_backup_that_is_no_tar_says_so(tmp_path: Path) -> None:
    (tmp_path / "ess-data.tar").write_text("measurements.csv\n")
    check = backup_matches(15, "ess-data.tar", Volume("ess-data", "course.lab=x", "docker volume create ess-data"),
                           "docker run … > ess-data.tar")
    outcome = check.run(_context(tmp_path))
    assert outcome.status is Status.FAILED and "not a tar archive" in outcome.message


def _fill(volume: str, files: dict[str, bytes]) -> None:
    """Put files into a volume through a container that is created, never started, and removed."""
    api = engine.client().api
    helper = api.create_container("python:3.13-slim", command=["true"], network_disabled=True,
                                  host_config=api.create_host_config(binds={volume: {"bind": "/data", "mode": "rw"}}))
    try:
        api.put_archive(helper["Id"], "/data", _tar(files))
    finally:
        api.remove_container(helper["Id"], force=True)


@pytest.fixture
def volume() -> Iterator[str]:
    name = f"ev-test-{uuid.uuid4().hex[:8]}"
    api = engine.client().api
    api.create_volume(name)
    _fill(name, {"measurements.csv": CSV, "sub/notes.txt": b"hi\n"})
    yield name
    api.remove_volume(name, force=True)


@pytest.mark.engine
def test_a_volume_is_read_through_a_helper_that_is_removed(no_leftovers: None, volume: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    files = read_volume(ctx, volume)
    assert files == {"measurements.csv": CSV, "sub/notes.txt": b"hi\n"}
    assert read_volume(ctx, volume) is files  # one read per volume per run
    api = engine.client().api
    assert not api.containers(all=True, filters={"label": f"{RUN_LABEL}={ctx.run_id}"})
    assert read_volume(_context(tmp_path), volume) == files  # unchanged by the read


@pytest.mark.engine
def test_a_volume_too_big_to_read_is_the_learners_to_fix(no_leftovers: None, tmp_path: Path) -> None:
    # More than the grader reads is the learner's volume, not a grader failure: a verdict with a way out, no traceback.
    name, label = f"ev-test-{uuid.uuid4().hex[:8]}", "course.lab=ev-test"
    api = engine.client().api
    api.create_volume(name, labels={"course.lab": "ev-test"})
    try:
        _fill(name, {"big.bin": b"0" * (MAX_BYTES + 1)})
        check = volume_holds(15, Volume(name, label, f"docker volume create --label {label} {name}"),
                             "measurements.csv", "data/measurements.csv", "copy it")
        outcome = check.run(_context(tmp_path))
    finally:
        api.remove_volume(name, force=True)
    assert outcome.status is Status.FAILED, outcome
    assert "more than 16 MB" in outcome.message and f"docker volume rm {name}" in outcome.hint
