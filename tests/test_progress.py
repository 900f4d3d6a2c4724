"""The learner's progress: what a check records (and what it must not), the record surviving corruption and
writers at once, `mastery progress` and its JSON, and the "My progress" notebook's table with its links.

No engine: the reports are made by hand, and the grading calls of the notebook and the CLI are replaced by one
that returns them. Every test keeps its record under tmp_path (MASTERY_PROGRESS_FILE), never labs/.progress.json.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from click.testing import CliRunner

from graders import progress
from graders.cli import main
from graders.labs import all_labs, get_lab
from graders.progress import State
from graders.progress_table import course_order, lesson_url, rows
from graders.results import Category, CheckResult, GradeReport, Status
from graders.spec import REPO_ROOT

NOTEBOOK = REPO_ROOT / "labs" / "my-progress.ipynb"
MINE = get_lab("first-image").starter_dir  # a learner's own lab folder: recording looks only at where it is


@pytest.fixture(autouse=True)
def record_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    file = tmp_path / "record" / "progress.json"
    monkeypatch.setenv(progress.FILE_ENV, str(file))
    monkeypatch.delenv(progress.SWITCH_ENV, raising=False)
    monkeypatch.delenv("MASTERY_DOCS_URL", raising=False)
    return file


def report(lab: str, *statuses: Status, points: float = 10, problem: str = "") -> GradeReport:
    """A report with one check per status: full points for a passed one, none otherwise."""
    results = [CheckResult(name=f"c{n}", title=f"Check {n}", status=s, points=points if s is Status.PASSED else 0,
                           max_points=points, category=Category.STATIC, message="seen")
               for n, s in enumerate(statuses)]
    return GradeReport(lab_id=lab, lab_title=lab, submission="x", results=results, seconds=1.0, problem=problem)


P, F, S, E = Status.PASSED, Status.FAILED, Status.SKIPPED, Status.ERROR


# --- what a check records ---------------------------------------------------------------------------------

def test_each_state_with_its_score_counts_and_time(record_file: Path) -> None:
    when = datetime.datetime(2025, 3, 1, 12, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert progress.record(report("a", P, P, S), MINE, now=when)
    assert progress.record(report("b", P, F, F), MINE, now=when)
    assert progress.record(report("c", F, F), MINE, now=when)
    entries = progress.load()
    assert {lab: e.state for lab, e in entries.items()} == {"a": State.PASSED, "b": State.PARTLY_DONE, "c": State.ATTEMPTED}
    a, b = entries["a"], entries["b"]
    assert (a.score, a.max_score, a.passed, a.failed, a.skipped) == (20, 20, 2, 0, 1)  # skipped: not counted, as in the score
    assert (b.score, b.max_score, b.passed, b.failed, b.skipped) == (10, 30, 1, 2, 0)
    assert a.checked_at == "2025-03-01T10:30:00+00:00"  # UTC
    on_disk = json.loads(record_file.read_text())
    assert on_disk["labs"]["b"] == {"state": "partly done", "score": 10, "max_score": 30,
                                    "checked_at": "2025-03-01T10:30:00+00:00", "passed": 1, "failed": 2, "skipped": 0}


def test_the_last_check_replaces_the_lab_entry_and_keeps_the_others() -> None:
    progress.record(report("a", P, F), MINE)
    progress.record(report("b", F), MINE)
    progress.record(report("a", P, P), MINE)
    entries = progress.load()
    assert entries["a"].state is State.PASSED and entries["b"].state is State.ATTEMPTED


def test_a_folder_below_the_labs_root_counts_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(MINE)  # the lab notebook grades "." from its own folder
    assert progress.record(report("first-image", P), ".")
    assert progress.is_learners_folder(MINE / "data")


@pytest.mark.parametrize("case", ["outside the labs root", "the labs root itself", "could not run", "grader failed",
                                  "recording off"])
def test_what_is_not_a_verdict_on_the_learners_folder_keeps_the_previous_entry(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record_file: Path) -> None:
    progress.record(report("a", P, F), MINE)
    before = record_file.read_text()
    folder, graded = MINE, report("a", P, P)
    if case == "outside the labs root":
        folder = tmp_path / "first-image"  # a solution or variant materialised in a temporary folder
    elif case == "the labs root itself":
        folder = progress.LABS_ROOT
    elif case == "could not run":
        graded = report("a", problem="No Docker Engine answers.")
    elif case == "grader failed":
        graded = report("a", P, E)
    else:
        monkeypatch.setenv(progress.SWITCH_ENV, "off")
    assert not progress.record(graded, folder)
    assert record_file.read_text() == before
    assert progress.load()["a"].state is State.PARTLY_DONE


def test_with_recording_off_no_file_is_made(monkeypatch: pytest.MonkeyPatch, record_file: Path) -> None:
    monkeypatch.setenv(progress.SWITCH_ENV, "OFF")
    assert not progress.record(report("a", P), MINE)
    assert not record_file.parent.exists()


@pytest.mark.parametrize("text", [b"{not json", b"\xff\xfe\x00", b"", b"[]", b'{"layout": 99, "labs": {}}',
                                  b'{"layout": 1, "labs": []}'], ids=["bad-json", "bad-bytes", "empty", "list",
                                                                       "other-layout", "labs-not-a-mapping"])
def test_a_corrupt_record_reads_empty_and_is_written_afresh(text: bytes, record_file: Path) -> None:
    record_file.parent.mkdir(parents=True)
    record_file.write_bytes(text)
    assert progress.load() == {}
    assert rows()[0].state is State.NOT_STARTED
    assert progress.record(report("a", P), MINE)
    assert set(progress.load()) == {"a"}


def test_a_bad_entry_loses_only_itself(record_file: Path) -> None:
    progress.record(report("good", P), MINE)
    data = json.loads(record_file.read_text())
    good = data["labs"]["good"]
    data["labs"].update({"no-state": {**good, "state": "finished"}, "not-started": {**good, "state": "not started"},
                         "bad-date": {**good, "checked_at": "yesterday"}, "bad-score": {**good, "score": "10"},
                         "bool-count": {**good, "passed": True}, "missing": {"state": "passed"}, "text": "passed"})
    record_file.write_text(json.dumps(data))
    assert set(progress.load()) == {"good"}


def test_an_unreadable_record_is_an_empty_one(record_file: Path) -> None:
    record_file.mkdir(parents=True)  # reading a folder is an OSError other than "not found"
    assert progress.load() == {}


def _record_many(lab_prefix: str, times: int) -> None:
    for n in range(times):
        progress.record(report(f"{lab_prefix}-{n}", P), MINE)


@pytest.mark.parametrize("how", ["threads", "processes"])
def test_writers_at_once_lose_nothing(how: str, record_file: Path) -> None:
    writers, times = 6, 8
    start: Callable[[str], Any]
    if how == "threads":
        start = lambda name: threading.Thread(target=_record_many, args=(name, times))  # noqa: E731
    else:  # the notebook's kernel and a terminal's `mastery check`: processes, each with its own lock handle
        start = lambda name: multiprocessing.get_context("fork").Process(target=_record_many, args=(name, times))  # noqa: E731
    workers = [start(f"w{i}") for i in range(writers)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert set(progress.load()) == {f"w{i}-{n}" for i in range(writers) for n in range(times)}
    assert sorted(p.name for p in record_file.parent.iterdir()) == ["progress.json", "progress.json.lock"]  # no temp left


def test_a_failed_write_leaves_the_record_and_no_temporary_file(monkeypatch: pytest.MonkeyPatch, record_file: Path) -> None:
    progress.record(report("a", P), MINE)
    before = record_file.read_text()

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(progress.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        progress.record(report("b", P), MINE)
    assert record_file.read_text() == before
    assert not list(record_file.parent.glob("*.tmp"))


# --- the notebook and `mastery check` record, and never fail for it -------------------------------------------

def test_grade_lab_records_the_learners_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import graders.notebook as notebook

    monkeypatch.setattr(notebook, "grade", lambda spec, folder, progress: report(spec.id, P, F))
    notebook.grade_lab("first-image", MINE)
    assert progress.load()["first-image"].state is State.PARTLY_DONE


def test_grading_goes_on_when_the_record_cannot_be_written(monkeypatch: pytest.MonkeyPatch) -> None:
    import graders.cli as cli
    import graders.notebook as notebook

    def cannot(*args: object) -> bool:
        raise OSError("read-only file system")

    monkeypatch.setattr(notebook, "grade", lambda spec, folder, progress: report(spec.id, P))
    monkeypatch.setattr(cli, "grade", lambda spec, folder, progress: report(spec.id, P))
    monkeypatch.setattr(progress, "record", cannot)
    assert notebook.grade_lab("first-image", MINE).report.all_passed
    result = CliRunner().invoke(main, ["check", "first-image"])
    assert result.exit_code == 0, result.output


def test_mastery_check_records_the_lab_folder_not_the_solution(monkeypatch: pytest.MonkeyPatch) -> None:
    import graders.cli as cli

    graded: list[Path] = []

    def fake_grade(spec: Any, folder: Path, progress: Any) -> GradeReport:
        graded.append(folder)
        return report(spec.id, P)

    monkeypatch.setattr(cli, "grade", fake_grade)
    assert CliRunner().invoke(main, ["check", "first-image", "--solution"]).exit_code == 0
    assert progress.load() == {}
    assert CliRunner().invoke(main, ["check", "first-image"]).exit_code == 0
    assert graded[-1] == get_lab("first-image").starter_dir
    assert progress.load()["first-image"].state is State.PASSED


# --- the table: order, links, `mastery progress` ---------------------------------------------------------------

def test_labs_come_in_the_order_the_course_teaches_them() -> None:
    ordered = [s.id for s in course_order(all_labs())]
    assert sorted(ordered) == sorted(all_labs())
    assert ordered.index("first-image") < ordered.index("hardened-image") < ordered.index("ml-api") < ordered.index("ml-pipeline")
    nav = (REPO_ROOT / "mkdocs.yml").read_text()
    positions = [nav.index(f" {get_lab(lab).lesson}\n") for lab in ordered]
    assert positions == sorted(positions)


def test_without_a_site_the_order_is_by_id(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import graders.progress_table as table

    monkeypatch.setattr(table, "REPO_ROOT", tmp_path)
    assert [s.id for s in course_order(all_labs())] == sorted(all_labs())


def test_lesson_links_point_at_the_labs_section_as_mkdocs_names_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = get_lab("first-image")
    assert lesson_url(spec) == "http://127.0.0.1:8008/first-image/#lab-first-image"
    assert lesson_url(get_lab("jupyter")) == "http://127.0.0.1:8008/workflows/jupyter/#lab-jupyter"
    assert lesson_url(dataclasses.replace(spec, lesson="index.md")) == "http://127.0.0.1:8008/#lab-first-image"
    assert lesson_url(dataclasses.replace(spec, lesson="a/index.md")) == "http://127.0.0.1:8008/a/#lab-first-image"
    monkeypatch.setenv("MASTERY_DOCS_URL", "https://course.example.org/docker")
    assert lesson_url(spec) == "https://course.example.org/docker/first-image/#lab-first-image"


def _two_checked() -> None:
    when = datetime.datetime(2025, 3, 1, 12, 30, tzinfo=datetime.UTC)
    progress.record(report("first-image", P, P), MINE, now=when)
    progress.record(report("ml-api", P, F, S), MINE, now=when)


def test_mastery_progress_json_lists_every_lab() -> None:
    _two_checked()
    result = CliRunner().invoke(main, ["progress", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [e["id"] for e in listed] == [s.id for s in course_order(all_labs())]
    by_id = {e["id"]: e for e in listed}
    assert by_id["first-image"] == {
        "id": "first-image", "title": get_lab("first-image").title, "lesson": "first-image.md",
        "notebook": "first-image/first-image.ipynb", "lesson_url": "http://127.0.0.1:8008/first-image/#lab-first-image",
        "state": "passed", "score": 20, "max_score": 20, "checked_at": "2025-03-01T12:30:00+00:00",
        "passed": 2, "failed": 0, "skipped": 0}
    assert (by_id["ml-api"]["state"], by_id["ml-api"]["score"], by_id["ml-api"]["max_score"]) == ("partly done", 10, 20)
    slim = by_id["slim-image"]
    assert (slim["state"], slim["score"], slim["checked_at"]) == ("not started", None, None)
    assert slim["max_score"] == get_lab("slim-image").total_points


def test_mastery_progress_shows_a_table() -> None:
    _two_checked()
    result = CliRunner().invoke(main, ["progress"])
    assert result.exit_code == 0, result.output
    for word in ("Lab", "State", "Score", "Last checked", "passed", "partly done", "not started", "20/20", "10/20"):
        assert word in result.output
    assert f"1 of {len(all_labs())} labs passed, 1 partly done, 0 attempted, {len(all_labs()) - 2} not started." in result.output


def test_mastery_progress_with_no_record_says_nothing_is_started() -> None:
    result = CliRunner().invoke(main, ["progress", "--json"])
    assert result.exit_code == 0
    assert {e["state"] for e in json.loads(result.stdout)} == {"not started"}


# --- labs/my-progress.ipynb ------------------------------------------------------------------------------

def test_the_notebook_is_committed_clean_and_is_not_an_assignment() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        assert "nbgrader" not in cell.metadata
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_the_notebook_shows_the_table_with_links(monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    _two_checked()
    monkeypatch.setenv("MASTERY_DOCS_URL", "http://docs.test:9000/")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    shown = "".join(output.get("data", {}).get("text/html", "") for cell in notebook.cells if cell.cell_type == "code"
                    for output in cell.outputs)
    assert "<table" in shown, [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]
    for spec in all_labs().values():
        assert f"<a href='{spec.id}/{spec.id}.ipynb'><code>{spec.id}</code></a>" in shown
        assert (REPO_ROOT / "labs" / spec.id / f"{spec.id}.ipynb").is_file()  # the link leads to a notebook
        assert f"href='http://docs.test:9000/{spec.lesson.removesuffix('.md')}/#lab-{spec.id}'" in shown
    assert ">passed<" in shown and ">partly done<" in shown and ">not started<" in shown
    assert "10/20" in shown
