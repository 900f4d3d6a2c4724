"""JUnit XML, the test report CI systems read (GitLab's test reports, Jenkins' junit step): one suite per
lab, one test case per check.

The shape keeps to the JUnit schema those tools share (surefire's, as vendored by pytest for xunit2):
a test case holds only failure/error/skipped and system-out, so points go in the suite's properties, one
`points` for the lab and one `points:CHECK` per check.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from graders.reporters.common import detail, points, visible_controls
from graders.results import GradeReport, Status


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def junit_xml(report: GradeReport) -> ET.Element:
    """The <testsuites> element; ElementTree escapes what the messages hold (<, &, quotes)."""
    counts = {s: sum(1 for r in report.results if r.status is s) for s in Status}
    totals = {"tests": str(len(report.results)), "failures": str(counts[Status.FAILED]),
              "errors": str(counts[Status.ERROR])}
    time = _seconds(report.seconds)
    root = ET.Element("testsuites", {"name": report.lab_id, **totals, "time": time})
    suite = ET.SubElement(root, "testsuite", {"name": report.lab_id, **totals, "skipped": str(counts[Status.SKIPPED]),
                                              "time": time})
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="points", value=f"{points(report.score)}/{points(report.max_score)}")
    for r in report.results:
        ET.SubElement(props, "property", name=f"points:{r.name}", value=f"{points(r.points)}/{points(r.max_points)}")
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=report.lab_id, name=r.name, time=_seconds(r.seconds))
        message, body = visible_controls(r.message), visible_controls(detail(r.message, r.hint))
        if r.status is Status.FAILED:
            ET.SubElement(case, "failure", message=message, type="failed").text = body
        elif r.status is Status.ERROR:
            ET.SubElement(case, "error", message=message, type="grader-error").text = (
                "The grader itself failed on this check: not a verdict on the work.\n" + body)
        elif r.status is Status.SKIPPED:
            ET.SubElement(case, "skipped", message=message).text = body
        else:
            ET.SubElement(case, "system-out").text = body
    return root


class JUnitReporter:
    """JUnit XML for a CI job's test report: failed checks fail, grader errors are errors, skipped is skipped."""

    name = "junit"
    description = "JUnit XML for CI test reports (GitLab, Jenkins)"
    suffix = ".xml"

    def render(self, report: GradeReport) -> str:
        root = junit_xml(report)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
