"""Cohort grading without an engine: where submissions are found, what a grading is keyed by, how results
are kept and read back, how the pool hands out gradings (and re-queues those of an engine that died), and
the class's CSV files. The gradings themselves are stood in for here; tests/test_cohort_engine.py grades
real submissions on the engine."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from headless import chromium

from graders.cli import main
from graders.cohort import pool
from graders.cohort.class_csv import canvas_csv, grades_csv, moodle_csv
from graders.cohort.discover import Learner, find_submissions, in_shard, parse_shard
from graders.cohort.fingerprint import grading_key, submission_digest
from graders.cohort.pool import Graded, grade_cohort
from graders.cohort.store import ResultStore
from graders.engine_address import EngineAddress
from graders.errors import EngineUnavailable, UsageError
from graders.labs import get_lab
from graders.reporters import report_json
from graders.reporters.json_report import report_from_json
from graders.results import CheckResult, GradeReport, Status

SPEC = get_lab("ml-api")


def _report(score_all: bool = True, error: bool = False) -> GradeReport:
    results = []
    for n, c in enumerate(SPEC.checks):
        status = Status.ERROR if error else Status.PASSED if score_all or n else Status.FAILED
        results.append(CheckResult(c.name, c.title, status, c.points if status is Status.PASSED else 0.0, c.points,
                                   c.category, f"seen {c.name}", "" if status is Status.PASSED else "change it", c.tags))
    return GradeReport(SPEC.id, SPEC.title, "/x", results, seconds=1.5)


def _learners(tmp_path: Path, names: list[str]) -> list[Learner]:
    out = []
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text(f"FROM python:3.13-slim\n# {name}\n")
        out.append(Learner(name, tmp_path / name))
    return out


def test_submissions_one_folder_per_learner_or_nbgraders_tree(tmp_path: Path) -> None:
    for name in ("bob", "alice", ".git", "not a name"):
        (tmp_path / "plain" / name).mkdir(parents=True)
    assert [(x.name, x.folder.name) for x in find_submissions(tmp_path / "plain", "ml-api")] == [
        ("alice", "alice"), ("bob", "bob")]
    (tmp_path / "course" / "submitted" / "carol" / "ml-api").mkdir(parents=True)
    found = find_submissions(tmp_path / "course", "ml-api")
    assert [(x.name, x.folder.relative_to(tmp_path).as_posix()) for x in found] == [
        ("carol", "course/submitted/carol/ml-api")]
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="holds no learner"):
        find_submissions(tmp_path / "empty", "ml-api")
    with pytest.raises(UsageError, match="is not a folder"):
        find_submissions(tmp_path / "missing", "ml-api")


def test_a_grading_is_keyed_by_content_mode_lab_and_images(tmp_path: Path) -> None:
    a, b = _learners(tmp_path, ["a", "b"])
    (b.folder / "Dockerfile").write_text((a.folder / "Dockerfile").read_text())
    assert submission_digest(a.folder) == submission_digest(b.folder)  # the folder's name is not its content
    before = submission_digest(a.folder)
    (a.folder / "Dockerfile").chmod(0o600)
    assert submission_digest(a.folder) != before
    key = grading_key("s", "lab", ["python:3.13-slim@sha256:1"])
    assert key == grading_key("s", "lab", ["python:3.13-slim@sha256:1"])
    assert key != grading_key("s", "lab", ["python:3.13-slim@sha256:2"]) != grading_key("s", "lab2", [])


def test_a_stored_result_is_read_back_under_its_key_only(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "out")
    report = _report(score_all=False)
    store.save("alice", "k1", report)
    back = store.load("alice", "k1")
    assert back is not None and report_json(back) == report_json(report)
    assert store.load("alice", "k2") is None and store.load("bob", "k1") is None
    assert {p.name for p in store.folder("alice").iterdir()} == {"key", "report.json", "results.json", "feedback.html"}
    store.save("carol", "k1", _report(error=True))
    assert store.load("carol", "k1") is None  # the grader failed on it: graded again next time
    assert report_from_json(report_json(report)).score == report.score


def _stand_in(monkeypatch: pytest.MonkeyPatch, grader) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(pool, "grade", grader)
    monkeypatch.setattr(pool, "_image_ids", lambda spec, address: ["python:3.13-slim@sha256:1"])
    monkeypatch.setattr(pool, "_answers", lambda address: False)


def test_the_pool_grades_each_learner_once_and_reuses_unchanged_results(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    learners = _learners(tmp_path, [f"l{n:02d}" for n in range(8)])
    calls: list[str] = []
    at_once = [0, 0]
    lock = threading.Lock()

    def grader(spec, folder: Path, on: EngineAddress) -> GradeReport:  # type: ignore[no-untyped-def]
        with lock:
            calls.append(folder.name)
            at_once[0] += 1
            at_once[1] = max(at_once)
        threading.Event().wait(0.05)
        with lock:
            at_once[0] -= 1
        return _report(score_all=folder.name != "l03")

    _stand_in(monkeypatch, grader)
    store = ResultStore(tmp_path / "out")
    first = grade_cohort(SPEC, learners, store, engines=[EngineAddress("unix:///a.sock", "--engine")], jobs=3)
    assert sorted(calls) == [x.name for x in learners] and 1 < at_once[1] <= 3
    assert [g.learner.name for g in first] == [x.name for x in learners]
    assert [g.report.score < g.report.max_score for g in first].count(True) == 1
    calls.clear()
    (learners[5].folder / "app.py").write_text("changed\n")
    again = grade_cohort(SPEC, learners, store, engines=[EngineAddress("unix:///a.sock", "--engine")], jobs=3)
    assert calls == ["l05"] and sum(g.reused for g in again) == 7
    calls.clear()
    grade_cohort(SPEC, learners, store, engines=[EngineAddress("unix:///a.sock", "--engine")], jobs=3, force=True)
    assert len(calls) == 8


def test_an_engine_that_dies_hands_its_gradings_to_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    learners = _learners(tmp_path, [f"l{n}" for n in range(6)])
    dead, alive = EngineAddress("unix:///dead.sock", "--engine"), EngineAddress("unix:///alive.sock", "--engine")
    where: dict[str, list[str]] = {}

    def grader(spec, folder: Path, on: EngineAddress) -> GradeReport:  # type: ignore[no-untyped-def]
        where.setdefault(folder.name, []).append(on.url)
        if on == dead:
            raise EngineUnavailable("No Docker Engine answers.")
        threading.Event().wait(0.02)
        return _report()

    _stand_in(monkeypatch, grader)
    cohort = grade_cohort(SPEC, learners, ResultStore(tmp_path / "out"), engines=[dead, alive], jobs=2)
    assert all(g.report.score == g.report.max_score and g.engine == alive.url for g in cohort)
    assert any(urls[0] == dead.url and urls[-1] == alive.url for urls in where.values())  # re-queued, not lost


def test_when_every_engine_is_gone_the_rest_is_an_error_to_rerun_not_a_zero(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    learners = _learners(tmp_path, ["a", "b", "c"])

    def grader(spec, folder: Path, on: EngineAddress) -> GradeReport:  # type: ignore[no-untyped-def]
        raise EngineUnavailable("No Docker Engine answers.")

    _stand_in(monkeypatch, grader)
    store = ResultStore(tmp_path / "out")
    cohort = grade_cohort(SPEC, learners, store, engines=[EngineAddress("unix:///x.sock", "--engine")], jobs=1)
    assert all(g.needs_rerun and all(r.status is Status.ERROR for r in g.report.results) for g in cohort)
    rows = list(csv.DictReader(io.StringIO(grades_csv(SPEC, cohort))))
    assert [(r["learner"], r["score"], r["status"]) for r in rows] == [("a", "", "error"), ("b", "", "error"),
                                                                      ("c", "", "error")]


def test_the_class_files_have_their_documented_columns(tmp_path: Path) -> None:
    cohort = [Graded(Learner("alice", tmp_path), _report()), Graded(Learner("bob", tmp_path), _report(score_all=False)),
              Graded(Learner("carol", tmp_path), _report(error=True))]
    grades = list(csv.reader(io.StringIO(grades_csv(SPEC, cohort))))
    assert grades[0] == ["learner", "score", "max_score", "status", *(c.name for c in SPEC.checks)]
    assert grades[1][:4] == ["alice", "100", "100", "graded"] and grades[2][1] == f"{100 - SPEC.checks[0].points:g}"
    assert grades[2][4] == "0" and grades[3][1] == "" and grades[3][4:] == [""] * len(SPEC.checks)
    canvas = list(csv.reader(io.StringIO(canvas_csv(SPEC, cohort))))
    assert canvas[0] == ["Student", "ID", "SIS Login ID", "Section", f"{SPEC.title} ({SPEC.id})"]
    assert canvas[1] == ["Points Possible", "", "", "", "100"] and canvas[2] == ["alice", "", "alice", "", "100"]
    moodle = list(csv.reader(io.StringIO(moodle_csv(SPEC, cohort))))
    assert moodle == [["username", "ml-api"], ["alice", "100"], ["bob", grades[2][1]], ["carol", ""]]


def _class(tmp_path: Path) -> list[Graded]:
    scores = [True] * 5 + [False] * 3
    cohort = [Graded(Learner(f"learner{n}", tmp_path), _report(score_all=ok)) for n, ok in enumerate(scores)]
    return [*cohort, Graded(Learner("zoe", tmp_path), _report(error=True))]


def test_the_class_report_orders_checks_worst_first_and_links_each_learner(tmp_path: Path) -> None:
    from graders.cohort.class_report import class_report_html

    page = class_report_html(SPEC, _class(tmp_path))
    first_check = SPEC.checks[0].name
    checks = page[page.index("<table class='checks'>"):page.index("<table class='learners'>")]
    assert checks.index(f"<code>{first_check}</code>") < checks.index(f"<code>{SPEC.checks[1].name}</code>")
    assert "62%" in checks and f"seen {first_check} <em>(3 learners)</em>" in checks  # 5 of 8 passed
    assert page.count("href='learners/") == 9 and "to grade again" in page
    assert "<svg" in page and "<?xml" not in page
    assert "9 learners, 8 graded; mean" in page


@pytest.mark.browser
def test_the_class_report_renders_in_chromium(tmp_path: Path) -> None:
    """The page as an instructor opens it: the histogram is drawn, the tables are there; a screenshot is kept."""
    from playwright.sync_api import sync_playwright

    from graders.cohort.class_report import class_report_html
    from graders.spec import REPO_ROOT

    page_file = tmp_path / "report.html"
    page_file.write_text(class_report_html(SPEC, _class(tmp_path)), encoding="utf-8")
    artifacts = REPO_ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(page_file.as_uri())
            box = page.locator("figure.histogram svg").bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
            assert page.locator("figure.histogram svg path").count() > 5  # bars and axes were drawn
            assert page.locator("table.checks tbody tr").count() == len(SPEC.checks)
            assert page.locator("table.learners tbody tr").count() == 9
            page.screenshot(path=str(artifacts / "class-report.png"), full_page=True)
        finally:
            browser.close()


def test_shards_split_a_cohort_into_disjoint_parts_that_keep_their_learners(tmp_path: Path) -> None:
    learners = _learners(tmp_path, [f"learner{n:03d}" for n in range(60)])
    parts = [in_shard(learners, i, 4) for i in range(4)]
    assert sorted(x.name for part in parts for x in part) == [x.name for x in learners]
    assert all(parts), "60 learners over 4 shards: none is empty"
    # A learner added later does not move the others to another worker (and away from their stored results).
    grown = learners + _learners(tmp_path, ["zoe"])
    assert [in_shard(grown, i, 4) for i in range(4)] == [
        part + [x for x in grown[-1:] if in_shard(grown[-1:], i, 4)] for i, part in enumerate(parts)]
    assert parse_shard("3/4") == (3, 4)
    for bad in ("4/4", "-1/4", "1", "a/b", "0/0"):
        with pytest.raises(UsageError, match="INDEX/COUNT"):
            parse_shard(bad)
    refused = CliRunner().invoke(main, ["grade", "ml-api", str(tmp_path), "--shard", "4/4"])
    assert refused.exit_code == 2 and "--shard 4/4 is not INDEX/COUNT" in refused.output
    # Every worker writing one gradebook at once is refused before anything is graded.
    both = CliRunner().invoke(main, ["grade", "ml-api", str(tmp_path), "--shard", "0/4", "--gradebook", "g.db"])
    assert both.exit_code == 2 and "--gradebook and --shard together" in both.output
