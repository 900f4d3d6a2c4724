"""Every lab proven both ways on a real engine: its solution scores full marks, each broken variant
loses exactly the points of the checks it names (and says what it saw and what to change), and
nothing labelled is left behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest

from graders.engine import client
from graders.labs import all_labs
from graders.results import Status
from graders.runner import grade
from graders.spec import LabSpec
from graders.submission import Variant, materialize, variants

pytestmark = [pytest.mark.engine, pytest.mark.slow]
LABS = list(all_labs().values())
CASES = [(spec, v) for spec in LABS for v in variants(spec)]


@pytest.fixture(scope="module", autouse=True)
def moving_tags() -> Iterator[None]:
    """Variants that build on a moving tag (python:latest) must build offline too, so that they fail
    only the check they break: alias the stand-in for the test, then remove the alias."""
    made = []
    for alias in ("python:latest",):
        try:
            client().images.get(alias)
        except docker.errors.ImageNotFound:
            client().images.get("python:3.13-slim").tag(alias)
            made.append(alias)
    yield
    for alias in made:
        client().images.remove(alias, noprune=True)


@pytest.mark.parametrize("spec", LABS, ids=lambda s: s.id)
def test_solution_scores_full_marks(spec: LabSpec, tmp_path: Path, no_leftovers: None) -> None:
    report = grade(spec, materialize(spec, into=tmp_path / "sub"))
    failed = {r.name: r.message for r in report.results if r.status not in (Status.PASSED, Status.SKIPPED)}
    assert not failed, failed
    for r in report.results:
        if r.status is Status.SKIPPED:  # only a check that needs what this host lacks, and it says why
            assert spec.check(r.name).skip_unless is not None and r.message, r
    assert report.score == report.max_score == spec.total_points - report.skipped_points


@pytest.mark.parametrize(("spec", "variant"), CASES, ids=lambda x: x.id if isinstance(x, LabSpec) else x.name)
def test_broken_variant_fails_exactly_its_checks(spec: LabSpec, variant: Variant, tmp_path: Path,
                                                no_leftovers: None) -> None:
    report = grade(spec, materialize(spec, variant, into=tmp_path / "sub"))
    skipped = {r.name for r in report.results if r.status is Status.SKIPPED}  # e.g. GPU checks on a host without
    expected = set(variant.fails) - skipped
    assert report.failed_names() == expected, {r.name: r.message for r in report.results}
    lost = sum(spec.check(name).points for name in expected)
    assert report.score == spec.total_points - lost - report.skipped_points
    for r in report.results:
        if r.name in expected:
            assert r.status is Status.FAILED, f"{r.name} should fail, not {r.status}: {r.message}"
            blocked = r.message.startswith("Not checked:")  # the blocking check itself carries the hint
            assert r.message and (r.hint or blocked), f"{r.name} must say what it saw and what to change"
