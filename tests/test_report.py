"""Report shapes: Gradescope's results.json keeps skipped checks out of max_score and never calls them passed."""

from __future__ import annotations

from graders.reporters import html_table
from graders.reporters import results_json as gradescope
from graders.results import Category, CheckResult, GradeReport, Status


def result(name: str, status: Status, points: float, max_points: float) -> CheckResult:
    return CheckResult(name=name, title=name.title(), status=status, points=points, max_points=max_points,
                       category=Category.GPU if status is Status.SKIPPED else Category.BUILD,
                       message=f"{name} saw something", hint="do this" if status is not Status.PASSED else "",
                       tags=("extra",))


def sample() -> GradeReport:
    report = GradeReport("lab", "Lab", "/tmp/x", seconds=1.234)
    report.results = [result("built", Status.PASSED, 10, 10), result("ran", Status.FAILED, 0, 5),
                      result("gpu", Status.SKIPPED, 0, 20), result("odd", Status.ERROR, 0, 5)]
    return report


def test_gradescope_shape() -> None:
    data = gradescope(sample())
    assert (data["score"], data["extra_data"]["max_score"], data["execution_time"]) == (10, 20, 1.23)
    tests = {t["extra_data"]["check_id"]: t for t in data["tests"]}
    assert tests["built"]["status"] == "passed" and tests["built"]["tags"] == ["build", "extra"]
    assert tests["ran"]["status"] == "failed" and "Hint: do this" in tests["ran"]["output"]
    assert tests["odd"]["status"] == "failed" and tests["odd"]["output"].startswith("Grader error")
    skipped = tests["gpu"]
    assert "status" not in skipped and skipped["max_score"] == 0 and skipped["output"].startswith("Skipped:")
    assert skipped["tags"][0] == "gpu" and "skipped" in skipped["tags"]
    for t in data["tests"]:
        assert set(t) >= {"name", "score", "max_score", "output", "tags"}


def test_report_totals_and_html() -> None:
    report = sample()
    assert (report.score, report.max_score, report.skipped_points) == (10, 20, 20)
    assert not report.all_passed
    assert report.failed_names() == {"ran", "odd"}
    markup = html_table(report)
    assert markup.count("<tr>") == 5 and "Hint: do this" in markup
