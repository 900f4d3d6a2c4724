"""The engine-state kind: the grader reads the learner's own containers and says what to run or what differs, and it
never changes them. Engine tests use containers of their own (unique names and label), so they never meet the
first-container proofs that run beside them."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from graders import engine
from graders.checks.engine_state import (
    container_running,
    file_holds_logs,
    file_lists_containers,
    job_succeeded,
    only_named_carry_label,
)
from graders.context import GradingContext
from graders.kinds.engine_state import read_handed_in
from graders.labs import get_lab
from graders.learner_containers import Wanted
from graders.learner_objects import LearnerObjects
from graders.results import Status
from graders.runner import grade
from graders.spec import LabSpec
from graders.validation import problems

IMAGE = "python:3.13-slim"
LAB = get_lab("first-container")


class FakeView(LearnerObjects):
    """The learner's engine as a test describes it."""

    def __init__(self, containers: dict[str, dict[str, Any]], logs: dict[str, tuple[str, str]]) -> None:
        super().__init__()
        self.known, self.said = containers, logs

    def container(self, name: str) -> dict[str, Any] | None:
        return self.known.get(name)

    def logs(self, name: str) -> tuple[str, str]:
        return self.said[name]

    def image_id(self, reference: str) -> str | None:
        return "sha256:python" if reference == IMAGE else None


def _context(tmp_path: Path, view: LearnerObjects, **files: str) -> GradingContext:
    ctx = GradingContext(spec=LAB, submission=tmp_path, run_id="0" * 12)
    ctx.handed_in, ctx.learner = dict(files), view
    return ctx


def test_a_listing_older_than_the_container_is_stale(tmp_path: Path) -> None:
    view = FakeView({"first-box": {"Id": "b" * 64, "Name": "/first-box"}, "first-job": {"Id": "c" * 64}}, {})
    check = file_lists_containers(15, "ps.txt", ("first-box", "first-job"), "docker ps -a > ps.txt")
    listing = ("CONTAINER ID   IMAGE   COMMAND   CREATED   STATUS   PORTS   NAMES\n"
               f"{'a' * 12}   python:3.13-slim   \"sleep infinity\"   1 minute ago   Up   first-box\n"
               f"{'c' * 12}   python:3.13-slim   \"python -c …\"   1 minute ago   Exited (0)   first-job\n")
    outcome = check.run(_context(tmp_path, view, **{"ps.txt": listing}))
    assert outcome.status is Status.FAILED and f"with the ID {'a' * 12}" in outcome.message, outcome
    assert check.run(_context(tmp_path, view, **{"ps.txt": listing.replace("a" * 12, "b" * 12)})).status is Status.PASSED
    names_only = check.run(_context(tmp_path, view, **{"ps.txt": "first-box Up\nfirst-job Exited (0)\n"}))
    assert names_only.status is Status.PASSED  # `--format '{{.Names}} {{.Status}}'` is a listing too
    plural = check.run(_context(tmp_path, view, **{"ps.txt": "first-boxes\nfirst-job\n"}))
    assert plural.status is Status.FAILED and "not `first-box`" in plural.message


def test_saved_logs_are_compared_with_the_containers(tmp_path: Path) -> None:
    job = Wanted("first-job", IMAGE, "course.lab=first-container", "docker run --name first-job …")
    view = FakeView({"first-job": {"Id": "c" * 64}}, {"first-job": ("mean: 20.5\n", "")})
    check = file_holds_logs(15, "logs.txt", job)
    assert check.run(_context(tmp_path, view, **{"logs.txt": "mean: 20.5\n"})).status is Status.PASSED
    edited = check.run(_context(tmp_path, view, **{"logs.txt": "mean: 21\n"}))
    assert edited.status is Status.FAILED and "`mean: 21`" in edited.message and "`mean: 20.5`" in edited.message
    assert "`docker logs first-job > logs.txt`" in edited.hint
    missing = check.run(_context(tmp_path, view))
    assert missing.status is Status.FAILED and "no `logs.txt`" in missing.message


def test_a_file_linked_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours\n")
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "ps.txt").symlink_to(outside)
    (folder / "logs.txt").write_text("mean: 20.5\n")
    assert read_handed_in(folder, "ps.txt") is None
    assert read_handed_in(folder, "logs.txt") == "mean: 20.5\n"
    assert read_handed_in(folder, "removed.txt") is None


def test_an_engine_state_check_in_a_dockerfile_lab_is_refused() -> None:
    server = get_lab("ml-api")
    found = problems(replace(server, checks=(*server.checks, LAB.check("box_running"))))
    assert found == ["check 'box_running' needs the learner's own objects in the Docker Engine, inspected read-only, "
                     "which a dockerfile lab run as server does not provide"]


# --- on the engine ------------------------------------------------------------------------------------------


@pytest.fixture
def task() -> Iterator[tuple[LabSpec, Wanted, Wanted]]:
    """A spec like first-container's, for containers named and labelled for this test alone; they are removed
    after it, with any image it made."""
    tag = uuid.uuid4().hex[:8]
    label = f"course.lab=engine-state-test-{tag}"
    box = Wanted(f"es-box-{tag}", IMAGE, label, f"docker run -d --name es-box-{tag} --label {label} {IMAGE} sleep infinity")
    job = Wanted(f"es-job-{tag}", IMAGE, label, f"docker run --name es-job-{tag} --label {label} {IMAGE} python -c …")
    spec = replace(LAB, id=f"engine-state-test-{tag}", files=(), task_objects=(box.name, job.name),
                   checks=(container_running(50, box), job_succeeded(30, job, expect=r"mean: 20\.5", shows="mean: 20.5"),
                           only_named_carry_label(20, label, (box.name, job.name), keep=(box.name, job.name))))
    yield spec, box, job
    api = engine.client().api
    for container in api.containers(all=True, filters={"label": label}):
        api.remove_container(container["Id"], force=True, v=True)
    for name in (box.name, job.name):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(name, force=True, v=True)
    for image in engine.client().images.list(filters={"reference": f"es-other-{tag}"}):
        engine.client().images.remove(image.id, force=True)


@pytest.mark.engine
def test_missing_containers_name_the_command_to_run(no_leftovers: None, task: tuple[LabSpec, Wanted, Wanted],
                                                    tmp_path: Path) -> None:
    spec, box, job = task
    report = grade(spec, tmp_path)
    box_result, job_result = report.result("box_running"), report.result("job_finished")
    for result, wanted in ((box_result, box), (job_result, job)):
        assert result.status is Status.FAILED
        assert f"No container named `{wanted.name}`" in result.message and f"run `{wanted.command}`" in result.message
        assert "docker context show" in result.hint
    assert report.result("no_strays").status is Status.PASSED


@pytest.mark.engine
def test_a_name_taken_by_another_image_says_what_differs(no_leftovers: None, task: tuple[LabSpec, Wanted, Wanted],
                                                         tmp_path: Path) -> None:
    spec, box, _ = task
    client = engine.client()
    base = client.containers.create(IMAGE, ["true"])
    other_tag = box.name.replace("es-box-", "es-other-")
    try:
        base.commit(repository=other_tag, tag="1", conf={"Labels": {"made.by": "test"}})
    finally:
        base.remove(force=True)
    client.containers.run(f"{other_tag}:1", ["sleep", "infinity"], name=box.name, labels={"course.lab": "other"}, detach=True)
    result = grade(spec, tmp_path).result("box_running")
    assert result.status is Status.FAILED
    assert f"it runs the image `{other_tag}:1`" in result.message, result.message
    assert f"not `{IMAGE}`" in result.message and "its label is `course.lab=other`" in result.message, result.message
    assert f"`docker rm -f {box.name}`" in result.hint and box.command in result.hint


@pytest.mark.engine
def test_grading_changes_nothing_of_the_learners_containers(no_leftovers: None, task: tuple[LabSpec, Wanted, Wanted],
                                                            tmp_path: Path) -> None:
    spec, box, job = task
    client = engine.client()
    labels = dict([box.label.split("=", 1)])
    client.containers.run(IMAGE, ["sleep", "infinity"], name=box.name, labels=labels, detach=True)
    done = client.containers.run(IMAGE, ["python", "-c", "print('mean:', 20.5)"], name=job.name, labels=labels,
                                 detach=True)
    done.wait(timeout=60)
    stray = client.containers.create(IMAGE, ["true"], labels=labels)  # a leftover the learner must remove, not the grader

    def states() -> dict[str, Any]:
        return {name: client.api.inspect_container(name)["State"] for name in (box.name, job.name, stray.id)}

    before = states()
    report = grade(spec, tmp_path)
    assert states() == before
    assert report.result("box_running").status is Status.PASSED and report.result("job_finished").status is Status.PASSED
    strays = report.result("no_strays")
    assert strays.status is Status.FAILED and f"`docker rm {stray.name}`" in strays.hint, strays
