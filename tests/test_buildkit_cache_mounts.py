"""The measured BuildKit check where cache mounts are empty. Cache mounts belong to the engine, not to one
project: a build that keeps docker-clean, or a prune, leaves them empty, and a graded build taken from the
layer cache does not fill them again. The solution must still pass, on the second try, and say why it
took two; a Dockerfile that keeps docker-clean must fail, and be told that docker-clean is the cause."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders import engine_locks
from graders.engine import client
from graders.engine_locks import CACHE_MOUNTS
from graders.labs import get_lab
from graders.results import Status
from graders.runner import grade
from graders.submission import materialize, variants

pytestmark = [pytest.mark.engine, pytest.mark.slow]
SPEC = get_lab("buildkit")


def test_the_solution_passes_after_the_cache_mounts_were_emptied(tmp_path: Path, no_leftovers: None) -> None:
    grade(SPEC, materialize(SPEC, into=tmp_path / "first"))  # the graded build's layers are now in the cache
    with engine_locks.exclusive(CACHE_MOUNTS):  # no grading beside this one fills the mounts in between
        client().api.prune_builds(filters={"type": "exec.cachemount"})
        report = grade(SPEC, materialize(SPEC, into=tmp_path / "again"))
    measured = next(r for r in report.results if r.name == "cache_speeds_rebuild")
    assert measured.status is Status.PASSED, measured.message
    assert "found the cache mounts empty" in measured.message, measured.message


def test_keeping_docker_clean_is_named_as_the_cause(tmp_path: Path, no_leftovers: None) -> None:
    variant = next(v for v in variants(SPEC) if v.name == "keeps-docker-clean")
    report = grade(SPEC, materialize(SPEC, variant, into=tmp_path / "sub"))
    measured = next(r for r in report.results if r.name == "cache_speeds_rebuild")
    assert measured.status is Status.FAILED, measured.message
    assert "still has /etc/apt/apt.conf.d/docker-clean" in measured.hint, measured.hint
