"""The measured BuildKit check on an engine whose cache mounts another build emptied. Cache mounts belong
to the engine, not to one project: a build that keeps docker-clean, or a prune, leaves them empty, and a
graded build taken from the layer cache does not fill them again. The solution must still pass, on the
second try, and say why it took two."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.engine import client
from graders.labs import get_lab
from graders.results import Status
from graders.runner import grade
from graders.submission import materialize

pytestmark = [pytest.mark.engine, pytest.mark.slow]
SPEC = get_lab("buildkit")


def test_the_solution_passes_after_the_cache_mounts_were_emptied(tmp_path: Path, no_leftovers: None) -> None:
    grade(SPEC, materialize(SPEC, into=tmp_path / "first"))  # the graded build's layers are now in the cache
    client().api.prune_builds(filters={"type": "exec.cachemount"})
    report = grade(SPEC, materialize(SPEC, into=tmp_path / "again"))
    measured = next(r for r in report.results if r.name == "cache_speeds_rebuild")
    assert measured.status is Status.PASSED, measured.message
    assert "found the cache mounts empty" in measured.message, measured.message
