"""The GradeReport itself as JSON: every check with its status, points, message, hint and tags, for tools
that gather a cohort's reports. Unlike Gradescope's file it keeps the four statuses apart."""

from __future__ import annotations

import json
from typing import Any

from graders.results import Category, CheckResult, GradeReport, Status

VERSION = 1  # raised when a key changes meaning or goes away, so a cohort tool can tell


def report_json(report: GradeReport) -> dict[str, Any]:
    return {
        "version": VERSION, "lab_id": report.lab_id, "lab_title": report.lab_title, "submission": report.submission,
        "score": report.score, "max_score": report.max_score, "skipped_points": report.skipped_points,
        "all_passed": report.all_passed, "grader_failed": report.grader_failed, "problem": report.problem,
        "seconds": round(report.seconds, 3),
        "results": [{"name": r.name, "title": r.title, "status": r.status.value, "points": r.points,
                     "max_points": r.max_points, "category": r.category.value, "tags": list(r.all_tags),
                     "message": r.message, "hint": r.hint, "seconds": round(r.seconds, 3)} for r in report.results],
    }


def report_from_json(data: dict[str, Any]) -> GradeReport:
    """The GradeReport that report_json wrote (a cohort's stored result, read back for its class files).
    Raises ValueError for another version or a missing key."""
    if data.get("version") != VERSION:
        raise ValueError(f"a report of version {data.get('version')!r}, not {VERSION}")
    try:
        results = [CheckResult(name=r["name"], title=r["title"], status=Status(r["status"]), points=float(r["points"]),
                               max_points=float(r["max_points"]), category=Category(r["category"]), message=r["message"],
                               hint=r["hint"], tags=tuple(t for t in r["tags"] if t != r["category"]),
                               seconds=float(r["seconds"]))
                   for r in data["results"]]
        return GradeReport(lab_id=data["lab_id"], lab_title=data["lab_title"], submission=data["submission"],
                           results=results, seconds=float(data["seconds"]), problem=data["problem"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"a report without {exc}") from exc


class JsonReporter:
    """The report as it is, statuses and all: passed, failed, skipped or error."""

    name = "json"
    description = "the report as plain JSON (every check's status, points, message, hint and tags)"
    suffix = ".json"

    def render(self, report: GradeReport) -> str:
        return json.dumps(report_json(report), indent=2) + "\n"
