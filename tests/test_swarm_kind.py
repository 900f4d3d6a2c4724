"""The swarm-stack kind beyond the lab's proofs: what the grader changes in the stack it deploys (and nothing
more), the ceilings it holds every replica to, what it refuses before anything starts, and a learner's own swarm:
reported as the grader's error, never a failure of theirs, and left as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from graders import engine, engine_locks, swarm_mode
from graders.kinds.swarm_stack import deployed_stack
from graders.labels import RUN_LABEL
from graders.labs import get_lab
from graders.limits import Limits
from graders.results import Status
from graders.runner import grade
from graders.submission import materialize
from graders.swarm_stack_model import API, compose_bytes

SPEC = get_lab("swarm")
RUN = "0123456789ab"


def reference() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((SPEC.solution_dir / "stack.yaml").read_text())
    return data


def test_the_deployed_stack_changes_only_what_the_grader_needs() -> None:
    raw = reference()
    raw["services"]["worker"] = {"image": "python:3.13-slim", "build": ".", "labels": ["team=ml"]}  # type: ignore[index]
    stack = deployed_stack(raw, "mastery-grade/swarm:" + RUN, RUN, Limits())
    api, worker = stack["services"][API], stack["services"]["worker"]
    assert api["image"] == "mastery-grade/swarm:" + RUN and "ports" not in api and "build" not in worker
    assert api["labels"] == {RUN_LABEL: RUN} and worker["labels"] == {"team": "ml", RUN_LABEL: RUN}
    assert stack["version"] == "3.9"
    # The learner's network stays theirs, made internal; the worker, on no network, gets an internal default one.
    assert stack["networks"]["backend"] == {"driver": "overlay", "internal": True}
    assert stack["networks"]["default"] == {"internal": True}
    # Everything the learner wrote for Swarm is deployed as written.
    assert api["deploy"]["update_config"] == raw["services"][API]["deploy"]["update_config"]  # type: ignore[index]
    assert api["secrets"] == ["api_token"] and stack["secrets"] == raw["secrets"]


def test_every_replica_is_held_to_the_ceiling_whatever_the_file_says() -> None:
    ceiling = Limits(memory_bytes=256 * 2**20, nano_cpus=500_000_000)
    raw = reference()
    own = deployed_stack(raw, "x", RUN, ceiling)["services"][API]["deploy"]["resources"]["limits"]
    assert own == {"cpus": "0.25", "memory": str(128 * 2**20)}  # lower than the ceiling: the learner's
    raw["services"][API]["deploy"]["resources"] = {"limits": {"cpus": "4", "memory": "8g"}}  # type: ignore[index]
    high = deployed_stack(raw, "x", RUN, ceiling)["services"][API]["deploy"]["resources"]["limits"]
    del raw["services"][API]["deploy"]["resources"]  # type: ignore[index]
    none = deployed_stack(raw, "x", RUN, ceiling)["services"][API]["deploy"]["resources"]["limits"]
    assert high == none == {"cpus": "0.5", "memory": str(256 * 2**20)}


@pytest.mark.parametrize(("text", "expected"), [("128M", 128 * 2**20), ("96m", 96 * 2**20), ("1g", 2**30),
                                                ("1.5GB", 3 * 2**29), (134217728, 134217728), ("lots", 0), (None, 0)])
def test_compose_sizes_are_read_in_bytes(text: object, expected: int) -> None:
    assert compose_bytes(text) == expected


def test_only_the_course_engine_holds_a_grading_swarm() -> None:
    problem = swarm_mode.readiness_problem(course_engine=False)
    assert problem is not None and "only on the course engine" in problem.message and "mastery engine start" in problem.hint


def _stack(tmp_path: Path, edit: str, new: str) -> Path:
    folder = tmp_path / "work"
    materialize(SPEC, None, into=folder)
    text = (folder / "stack.yaml").read_text()
    assert edit in text
    (folder / "stack.yaml").write_text(text.replace(edit, new))
    return folder


@pytest.mark.engine
@pytest.mark.parametrize(("edit", "new", "said"), [
    ("    file: ./api_token.txt\n", "    file: /etc/shadow\n", "/etc/shadow"),
    ("    networks:\n      - backend\n", "    volumes:\n      - /:/host\n    networks:\n      - backend\n", "bind-mounts /"),
    ("      replicas: 3\n", "      replicas: 500\n", "500 replicas"),
    ("    driver: overlay\n", "    driver: overlay\n    driver_opts:\n      encrypted: \"\"\n", "driver_opts"),
], ids=["secret-outside", "bind-root", "too-many-replicas", "driver-opts"])
def test_a_stack_that_reaches_out_is_refused_before_anything_starts(tmp_path: Path, edit: str, new: str, said: str,
                                                                      no_leftovers: None) -> None:
    report = grade(SPEC, _stack(tmp_path, edit, new))
    first = report.results[0]
    assert first.name == "compose_valid" and first.status is Status.FAILED and said in first.message, first.message
    assert all(r.status is not Status.PASSED for r in report.results if r.name != "resource_limits")
    assert swarm_mode.node_state() == "inactive"


@pytest.fixture
def learners_swarm() -> Iterator[None]:
    """The engine in swarm mode, as a learner who deployed their stack left it; under the grader's swarm lock, so
    the lab's proofs on other workers wait."""
    if engine.site().shared_folder is None:
        pytest.skip("a grading swarm is made only in the course engine, and this suite runs on another")
    with engine_locks.exclusive(swarm_mode.SWARM_LOCK):
        made = swarm_mode.run_docker("swarm", "init", "--advertise-addr", "127.0.0.1")
        assert made.returncode == 0, made.stderr
        try:
            yield
        finally:
            swarm_mode.leave()


@pytest.mark.engine
def test_a_learners_own_swarm_is_the_graders_error_and_is_left_alone(tmp_path: Path, no_leftovers: None,
                                                                    learners_swarm: None) -> None:
    # no_leftovers first: it looks after the learner's swarm is gone, with its ingress network
    materialize(SPEC, None, into=tmp_path / "work")
    report = grade(SPEC, tmp_path / "work")
    healthy = report.result("replicas_healthy")
    assert healthy.status is Status.ERROR and "already in swarm mode" in healthy.message
    assert "docker swarm leave --force" in healthy.hint
    assert report.result("rolls_back").status is Status.ERROR and report.grader_failed  # re-run, never a zero
    assert swarm_mode.node_state() == "active"  # the learner's swarm is still there
    assert not engine.client().api.services()


@pytest.mark.engine
def test_the_grader_makes_no_swarm_while_containers_run_on_the_learners_networks(tmp_path: Path,
                                                                                no_leftovers: None) -> None:
    """Engine 28 loses their names when a swarm is made and left: they are named, and nothing is made."""
    if engine.site().shared_folder is None:
        pytest.skip("a grading swarm is made only in the course engine, and this suite runs on another")
    api = engine.client().api
    network = api.create_network("mastery-test-own-net")["Id"]
    box = api.create_container("python:3.13-slim", ["sleep", "120"], name="mastery-test-own-box",
                               host_config=api.create_host_config(network_mode="mastery-test-own-net"))["Id"]
    try:
        api.start(box)
        materialize(SPEC, None, into=tmp_path / "work")
        report = grade(SPEC, tmp_path / "work")
        healthy = report.result("replicas_healthy")
        assert healthy.status is Status.ERROR and "`mastery-test-own-box`" in healthy.message, healthy.message
        assert "docker compose down" in healthy.hint and swarm_mode.node_state() == "inactive"
    finally:
        api.remove_container(box, force=True)
        api.remove_network(network)
