"""Each output format against the shape its reader expects: Gradescope's documented results.json keys, the
JUnit schema CI systems read, HTML a parser accepts, a table with no colour codes. No engine: the reports
are built by hand, and the CLI test proves a mistyped --format is refused before any grading starts."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from graders import cli
from graders.errors import UsageError
from graders.reporters import REPORTERS, get_reporter
from graders.reporters.gradescope import GradescopeReporter, markdown_text, results_json
from graders.results import Category, CheckResult, GradeReport, Status

TRICKY = 'a <b> & "quoted" \'single\' ]]> \x1b[31m'


def result(name: str, status: Status, points: float, max_points: float, message: str = "") -> CheckResult:
    return CheckResult(name=name, title=name.replace("_", " ").capitalize(), status=status, points=points,
                       max_points=max_points, category=Category.GPU if status is Status.SKIPPED else Category.BUILD,
                       message=message or f"{name} saw something", hint="" if status is Status.PASSED else "do this",
                       tags=("extra",), seconds=0.5)


def sample() -> GradeReport:
    """One check of each status, and a failed one whose message holds what XML and Markdown must escape."""
    report = GradeReport("lab-x", "Lab X", "/tmp/x", seconds=3.25)
    report.results = [result("image_builds", Status.PASSED, 10, 10), result("runs_as_user", Status.FAILED, 0, 5),
                      result("gpu_visible", Status.SKIPPED, 0, 20), result("odd_one", Status.ERROR, 0, 5),
                      result("tricky", Status.FAILED, 0, 2, message=TRICKY)]
    return report


# ---------------------------------------------------------------- registry

def test_registry_names_each_reporter_by_its_own_name() -> None:
    assert list(REPORTERS) == ["table", "gradescope", "junit", "html", "json"]
    for name, reporter in REPORTERS.items():
        assert reporter.name == name and get_reporter(name) is reporter
        assert reporter.suffix.startswith(".") and reporter.description and "\n" not in reporter.description
        assert reporter.render(sample()).endswith("\n")


def test_an_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        get_reporter("nosuch")
    assert "'nosuch'" in caught.value.message
    assert all(name in caught.value.message for name in REPORTERS)


# ---------------------------------------------------------------- gradescope

# From https://gradescope-autograders.readthedocs.io/en/latest/specs/ ("Output format", "Controlling Test Case
# Visibility", "Test case status", "Output String Formatting"): every key it documents, and only those.
NUMBER = (int, float)
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
TOP_LEVEL: dict[str, Any] = {"score": NUMBER, "execution_time": NUMBER, "output": str, "output_format": FORMATS,
                             "test_output_format": FORMATS, "test_name_format": FORMATS, "visibility": VISIBILITIES,
                             "stdout_visibility": VISIBILITIES, "extra_data": dict, "tests": list, "leaderboard": list}
TEST_CASE: dict[str, Any] = {"score": NUMBER, "max_score": NUMBER, "status": {"passed", "failed"}, "name": str,
                             "name_format": FORMATS, "number": str, "output": str, "output_format": FORMATS,
                             "tags": list, "visibility": VISIBILITIES, "extra_data": dict}


def conforms(obj: dict[str, Any], schema: dict[str, Any], where: str) -> None:
    assert set(obj) <= set(schema), f"{where}: keys Gradescope does not document: {set(obj) - set(schema)}"
    for key, value in obj.items():
        expected = schema[key]
        if isinstance(expected, set):
            assert value in expected, f"{where}.{key} = {value!r}, not one of {sorted(expected)}"
        else:
            assert isinstance(value, expected) and not isinstance(value, bool), f"{where}.{key} = {value!r}"


def test_gradescope_keeps_to_the_documented_schema() -> None:
    data = json.loads(REPORTERS["gradescope"].render(sample()))
    conforms(data, TOP_LEVEL, "results")
    assert "score" in data or all("score" in t for t in data["tests"])  # "required if not on each test case"
    for i, test in enumerate(data["tests"]):
        conforms(test, TEST_CASE, f"tests[{i}]")
        assert all(isinstance(tag, str) for tag in test["tags"])
    assert (data["output_format"], data["visibility"], data["stdout_visibility"]) == ("md", "visible", "hidden")
    assert all(t["output_format"] == "md" and t["visibility"] == "visible" for t in data["tests"])


def test_gradescope_verdicts() -> None:
    data = results_json(sample())
    assert (data["score"], data["execution_time"], data["extra_data"]) == (10, 3.25, {"lab_id": "lab-x", "max_score": 22})
    tests = {t["extra_data"]["check_id"]: t for t in data["tests"]}
    assert list(tests) == [r.name for r in sample().results]
    assert tests["image_builds"]["status"] == "passed" and tests["image_builds"]["tags"] == ["build", "extra"]
    assert tests["runs_as_user"]["status"] == "failed" and tests["runs_as_user"]["output"].endswith("\n\nHint: do this")
    assert tests["odd_one"]["status"] == "failed" and tests["odd_one"]["output"].startswith("Grader error: ")
    skipped = tests["gpu_visible"]
    assert "status" not in skipped and (skipped["score"], skipped["max_score"]) == (0, 0)
    assert skipped["output"].startswith("Skipped: ") and skipped["tags"] == ["gpu", "extra", "skipped"]
    assert sum(t["max_score"] for t in data["tests"]) == data["extra_data"]["max_score"]


def test_gradescope_visibility_is_a_parameter() -> None:
    data = json.loads(GradescopeReporter(visibility="after_published").render(sample()))
    assert data["visibility"] == "after_published" and {t["visibility"] for t in data["tests"]} == {"after_published"}
    with pytest.raises(ValueError, match="after_due_date"):
        results_json(sample(), visibility="later")


@pytest.mark.parametrize(("text", "markdown"), [
    ("runs_as_user saw *x* and `y`", r"runs\_as\_user saw \*x\* and \`y\`"),
    ("a <b> & [link](x)", r"a \<b\> \& \[link\](x)"),
    ("line one\nline two", "line one  \nline two"),
    ("- not a list\n# not a heading\n1. not a list", "\\- not a list  \n\\# not a heading  \n1\\. not a list"),
    ("para\n\npara", "para\n\npara"),
])
def test_gradescope_markdown_shows_the_text_as_written(text: str, markdown: str) -> None:
    assert markdown_text(text) == markdown


# ---------------------------------------------------------------- junit

# The JUnit schema GitLab and Jenkins read (surefire's, as pytest vendors it in testing/example_scripts/junit-10.xsd):
# the attributes and children each element may have, and the attributes it must have.
JUNIT: dict[str, tuple[set[str], set[str], set[str]]] = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, set(), {"testsuite"}),
    "testsuite": ({"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname", "id",
                   "package", "file", "log", "url", "version"}, {"name", "tests", "failures", "errors"},
                  {"testsuite", "properties", "testcase", "system-out", "system-err"}),
    "properties": (set(), set(), {"property"}),
    "property": ({"name", "value"}, {"name", "value"}, set()),
    "testcase": ({"name", "time", "classname", "group"}, {"name"},
                 {"skipped", "error", "failure", "system-out", "system-err"}),
    "failure": ({"type", "message"}, set(), set()),
    "error": ({"type", "message"}, set(), set()),
    "skipped": ({"type", "message"}, set(), set()),
    "system-out": (set(), set(), set()),
}
SUREFIRE_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]{0,3})?")


def valid_junit(element: ET.Element) -> None:
    allowed, required, children = JUNIT[element.tag]
    assert set(element.attrib) <= allowed and required <= set(element.attrib), (element.tag, element.attrib)
    if "time" in element.attrib:
        assert SUREFIRE_TIME.fullmatch(element.attrib["time"]), element.attrib["time"]
    for child in element:
        assert child.tag in children, f"<{child.tag}> inside <{element.tag}>"
        valid_junit(child)


def test_junit_fits_the_schema_and_counts_what_it_holds() -> None:
    text = REPORTERS["junit"].render(sample())
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode())
    valid_junit(root)
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert suite.get("name") == "lab-x" and [c.get("name") for c in cases] == [r.name for r in sample().results]
    assert {c.get("classname") for c in cases} == {"lab-x"}
    for attr, child in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        assert suite.get(attr) == str(len(suite.findall(f"testcase/{child}"))), attr
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("5", "2", "1", "1")
    assert all(root.get(a) == suite.get(a) for a in ("tests", "failures", "errors", "time"))
    by_name = {c.get("name"): c for c in cases}
    assert [child.tag for child in by_name["image_builds"]] == ["system-out"]
    failure = by_name["runs_as_user"].find("failure")
    assert failure is not None and failure.get("message") == "runs_as_user saw something"
    assert failure.text == "runs_as_user saw something\nHint: do this"
    assert by_name["odd_one"].find("error") is not None and by_name["gpu_visible"].find("skipped") is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["points"] == "10/22" and props["points:image_builds"] == "10/10" and props["points:runs_as_user"] == "0/5"


def test_junit_escapes_what_a_message_holds() -> None:
    text = REPORTERS["junit"].render(sample())
    assert "<b>" not in text and "&lt;b&gt;" in text and "&amp;" in text and "&quot;quoted&quot;" in text
    failure = ET.fromstring(text.encode()).find("testsuite/testcase[@name='tricky']/failure")
    assert failure is not None
    shown = TRICKY.replace("\x1b", "\\x1b")  # XML 1.0 cannot carry ESC at all
    assert failure.get("message") == shown and failure.text == f"{shown}\nHint: do this"


# ---------------------------------------------------------------- html

class Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.body_rows = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr" and "tbody" in self.open:
            self.body_rows += 1
        if tag not in ("br", "meta"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()


def test_html_parses_with_one_row_per_check() -> None:
    text = REPORTERS["html"].render(sample())
    parser = Rows()
    parser.feed(text)
    parser.close()
    assert parser.body_rows == len(sample().results) and parser.open == []
    assert "<meta charset='utf-8'>" in text and "a &lt;b&gt; &amp; &quot;quoted&quot;" in text


# ---------------------------------------------------------------- table and json

def test_table_for_a_file_names_every_check_and_has_no_colour_codes() -> None:
    text = REPORTERS["table"].render(sample())
    assert "\x1b" not in text
    for r in sample().results:
        assert r.title in text and r.name in text
    assert "10/22 points" in text and "Hint: do this" in text


def test_json_keeps_every_status_apart() -> None:
    data = json.loads(REPORTERS["json"].render(sample()))
    assert [r["status"] for r in data["results"]] == ["passed", "failed", "skipped", "error", "failed"]
    assert (data["score"], data["max_score"], data["skipped_points"], data["grader_failed"]) == (10, 22, 20, True)
    assert set(data["results"][1]) == {"name", "title", "status", "points", "max_points", "category", "tags", "message",
                                       "hint", "seconds"}


# ---------------------------------------------------------------- cli

def never_grade(*args: object, **kwargs: object) -> GradeReport:
    raise AssertionError("grading started")


def test_cli_refuses_an_unknown_format_before_grading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "grade", never_grade)
    outcome = CliRunner().invoke(cli.main, ["check", "ml-api", "--format", "nosuch"])
    assert outcome.exit_code == 2, outcome.output
    assert "Traceback" not in outcome.output
    [line] = outcome.stderr.strip().splitlines()
    assert "nosuch" in line and ", ".join(REPORTERS) in line and outcome.stdout == ""


@pytest.mark.parametrize("name", list(REPORTERS))
def test_cli_writes_the_format_to_output_and_keeps_the_table(name: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "grade", lambda spec, target, progress: sample())
    target = tmp_path / f"report{REPORTERS[name].suffix}"
    outcome = CliRunner().invoke(cli.main, ["check", "ml-api", str(tmp_path), "--format", name, "--output", str(target)])
    assert outcome.exit_code == 2, outcome.output  # a check the grader failed on: exit 2, as without --format
    assert target.read_text(encoding="utf-8") == REPORTERS[name].render(sample())
    assert "Image builds" in outcome.stdout and f"Wrote {target}" in outcome.stderr


def test_cli_prints_the_format_alone_on_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "grade", lambda spec, target, progress: sample())
    results = tmp_path / "results.json"
    outcome = CliRunner().invoke(cli.main, ["check", "ml-api", str(tmp_path), "--format", "junit", "--json", str(results)])
    assert outcome.exit_code == 2, outcome.output
    assert ET.fromstring(outcome.stdout.encode()).tag == "testsuites"
    assert "10/22 points" in outcome.stderr
    assert json.loads(results.read_text()) == results_json(sample())  # --json still writes Gradescope's file
