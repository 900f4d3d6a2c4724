"""The storage lab's readings, without an engine: tmpfs sizes in each spelling Docker keeps them, and the model judge
against the lab's dataset. The lab proofs (tests/test_labs.py -k storage) run the checks on a real engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from graders.checks.engine_mounts import MB, _tmpfs_size, size_bytes
from graders.labs import get_lab
from graders.labs.storage.spec import judge_model

SPEC = get_lab("storage")


@pytest.mark.parametrize(("written", "expected"), [
    ("64m", 64 * MB), ("65536k", 64 * MB), ("67108864", 64 * MB), ("1g", 1024 * MB), ("64M", 64 * MB),
    ("10%", None), ("", None), ("lots", None),
])
def test_a_tmpfs_size_is_read_as_the_kernel_reads_it(written: str, expected: int | None) -> None:
    assert size_bytes(written) == expected


def test_a_tmpfs_is_found_in_either_form() -> None:
    # `--tmpfs /scratch:rw,size=64m` keeps its options as text; `--mount type=tmpfs,tmpfs-size=…` keeps bytes.
    short = {"HostConfig": {"Tmpfs": {"/scratch": "rw,noexec,size=64m"}}}
    long = {"HostConfig": {"Mounts": [{"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 33554432}}]}}
    unbounded = {"HostConfig": {"Tmpfs": {"/scratch": ""}}}
    assert _tmpfs_size(short, "/scratch") == (True, 64 * MB, "64m")
    assert _tmpfs_size(long, "/scratch") == (True, 32 * MB, "33554432 bytes")
    assert _tmpfs_size(unbounded, "/scratch") == (True, None, "")
    assert _tmpfs_size(short, "/tmp")[0] is False


def _model(rows: int, **means: float) -> bytes:
    return json.dumps({"rows": rows, "stations": {n: {"count": 4, "mean": m} for n, m in means.items()}}).encode()


def test_the_model_is_judged_against_the_learners_dataset(tmp_path: Path) -> None:
    shutil.copytree(SPEC.starter_dir / "data", tmp_path / "data")
    right = _model(12, harbour=9.31, north=6.88, south=11.88)
    assert judge_model(right, tmp_path) is None
    wrong = judge_model(_model(12, harbour=9.0, north=7.0, south=12.0), tmp_path)
    assert wrong is not None and "`harbour`" in wrong and "`north`" in wrong
    missing = judge_model(_model(8, north=6.88, south=11.88), tmp_path)
    assert missing is not None and "8 rows" in missing and "12 rows" in missing
    assert "not the model" in (judge_model(b"[1, 2]", tmp_path) or "")
    (tmp_path / "data" / "measurements.csv").unlink()
    assert "no `data/measurements.csv`" in (judge_model(right, tmp_path) or "")
