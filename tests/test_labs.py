"""Every lab proven both ways on a real engine: its solution and each alternative correct solution score
full marks, each broken or gaming variant loses exactly the points of the checks it names (and says
what it saw and what to change), and nothing labelled is left behind."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest
from lab_proofs import solution_scores_full_marks, variant_fails_exactly_its_checks

from graders.engine import client
from graders.labs import all_labs
from graders.spec import LabSpec
from graders.submission import Variant, variants

pytestmark = [pytest.mark.engine, pytest.mark.slow]
LABS = list(all_labs().values())


def _lab_by_lab(per_lab: list[list[tuple[LabSpec, Variant]]]) -> list[tuple[LabSpec, Variant]]:
    """One case of each lab in turn: parallel workers then grade different labs side by side, and a lab whose
    gradings take turns on the engine (buildkit's cache-mount check, graders/engine_locks.py) never holds
    all of them at once."""
    return [case for batch in itertools.zip_longest(*per_lab) for case in batch if case is not None]


CASES = _lab_by_lab([[(spec, v) for kind in ("broken", "gaming") for v in variants(spec, kind)] for spec in LABS])
ALTERNATIVES = _lab_by_lab([[(spec, v) for v in variants(spec, "alternatives")] for spec in LABS])


def _on_one_worker(*values: object) -> object:
    """An engine-state lab's proofs take turns on the engine (its task's containers have fixed names, under a lock:
    tests/engine_state_proofs.py): grouped on one worker (`make test` runs `--dist loadgroup`), they follow one
    another there instead of holding the other workers waiting on the lock. A swarm lab's proofs run with the
    tests that need the engine to themselves (`-m alone`): the grader's swarm, made and left, cuts the names of
    every other container then on a user-defined network (graders/swarm_mode.py)."""
    spec = values[0]
    assert isinstance(spec, LabSpec)
    if spec.kind == "swarm-stack":  # a swarm made and left cuts other containers' names: alone (graders/swarm_mode.py)
        return pytest.param(*values, marks=pytest.mark.alone)
    if spec.kind != "engine-state":
        return values if len(values) > 1 else spec
    return pytest.param(*values, marks=pytest.mark.xdist_group(f"lab-{spec.id}"))


SOLUTION_CASES = [_on_one_worker(spec) for spec in LABS]
ALTERNATIVE_CASES = [_on_one_worker(*case) for case in ALTERNATIVES]
VARIANT_CASES = [_on_one_worker(*case) for case in CASES]


@pytest.fixture(scope="module", autouse=True)
def moving_tags() -> Iterator[None]:
    """Variants that build on a moving tag (python:latest) must build offline too, so that they fail
    only the check they break: alias the stand-in for the test, then remove the alias. With other workers
    grading at the same time (pytest-xdist) the alias stays: one of them may still be building on it."""
    made = []
    for alias in ("python:latest",):
        try:
            client().images.get(alias)
        except docker.errors.ImageNotFound:
            client().images.get("python:3.13-slim").tag(alias)
            made.append(alias)
    yield
    if "PYTEST_XDIST_WORKER" in os.environ:
        return
    for alias in made:
        client().images.remove(alias, noprune=True)


@pytest.mark.parametrize("spec", SOLUTION_CASES, ids=lambda s: s.id)
def test_solution_scores_full_marks(spec: LabSpec, tmp_path: Path, no_leftovers: None) -> None:
    solution_scores_full_marks(spec, tmp_path)


@pytest.mark.parametrize(("spec", "alternative"), ALTERNATIVE_CASES, ids=lambda x: x.id if isinstance(x, LabSpec) else x.name)
def test_alternative_solution_scores_full_marks(spec: LabSpec, alternative: Variant, tmp_path: Path,
                                                no_leftovers: None) -> None:
    """A correct submission written another way than the reference passes every check."""
    solution_scores_full_marks(spec, tmp_path, alternative)


@pytest.mark.parametrize(("spec", "variant"), VARIANT_CASES, ids=lambda x: x.id if isinstance(x, LabSpec) else x.label)
def test_broken_variant_fails_exactly_its_checks(spec: LabSpec, variant: Variant, tmp_path: Path,
                                                no_leftovers: None) -> None:
    variant_fails_exactly_its_checks(spec, variant, tmp_path)
