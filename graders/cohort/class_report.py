"""DIR/report.html: how the class did. The score histogram (matplotlib, inlined as SVG, so the page needs
nothing else), each check's pass rate worst first with its most common failure message, and one row per
learner linking their feedback page."""

from __future__ import annotations

import html
import io
import statistics
from collections import Counter
from collections.abc import Sequence

from graders.cohort.pool import Graded
from graders.results import Status
from graders.spec import LabSpec


def histogram_svg(scores: Sequence[float], max_score: float) -> str:
    """The scores in ten bins from 0 to max_score, as an inline SVG element."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6.4, 2.6))
    axes = figure.subplots()
    axes.hist(scores, bins=10, range=(0, max_score or 1), color="#2e7d32", edgecolor="white")
    axes.set_xlabel("score")
    axes.set_ylabel("learners")
    axes.set_xlim(0, max_score or 1)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # without the XML prologue and DOCTYPE, to sit inside the page


def class_report_html(spec: LabSpec, cohort: Sequence[Graded]) -> str:
    graded = [g for g in cohort if not g.needs_rerun]
    scores = [g.report.score for g in graded]
    title = html.escape(f"{spec.title} ({spec.id})")
    figures = (f"{len(cohort)} learners, {len(graded)} graded"
               + (f"; mean {statistics.mean(scores):.1f}, median {statistics.median(scores):g} of {spec.total_points:g}"
                  if scores else "")
               + (f"; {len(cohort) - len(graded)} to grade again (the grader could not judge them)"
                  if len(graded) < len(cohort) else ""))
    checks = []
    for check in spec.checks:
        results = [r for g in graded for r in g.report.results if r.name == check.name and r.status is not Status.SKIPPED]
        failed = Counter(r.message.split("\n")[0] for r in results if r.status is Status.FAILED)
        rate = sum(r.status is Status.PASSED for r in results) / len(results) if results else 1.0
        common = failed.most_common(1)
        checks.append((rate, check.name, check.title, len(results),
                       f"{html.escape(common[0][0])} <em>({common[0][1]} learners)</em>" if common else ""))
    check_rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code><br>{html.escape(ttl)}</td><td class='num'>{rate:.0%}</td>"
        f"<td class='num'>{n}</td><td>{common}</td></tr>"
        for rate, name, ttl, n, common in sorted(checks, key=lambda c: (c[0], c[1])))
    learner_rows = "".join(
        f"<tr><td><a href='learners/{html.escape(g.learner.name)}/feedback.html'>{html.escape(g.learner.name)}</a></td>"
        + (f"<td class='num'>—</td><td>to grade again: {html.escape(g.report.results[0].message if g.report.results else '')}</td>"
           if g.needs_rerun else
           f"<td class='num'>{g.report.score:g}/{g.report.max_score:g}</td>"
           f"<td>{html.escape(', '.join(sorted(g.report.failed_names())) or 'every check passed')}</td>")
        + "</tr>" for g in cohort)
    histogram = histogram_svg(scores, spec.total_points) if scores else "<p>No learner was graded.</p>"
    return f"""<!DOCTYPE html>
<html lang='en'>
<head><meta charset='utf-8'><title>Class report: {title}</title>
<style>body{{font-family:sans-serif;max-width:70rem;margin:2rem auto}} table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}} .num{{text-align:right}}</style>
</head>
<body>
<h1>Class report: {title}</h1>
<p class='figures'>{html.escape(figures)}</p>
<h2>Scores</h2>
<figure class='histogram'>{histogram}</figure>
<h2>Checks, worst first</h2>
<table class='checks'><thead><tr><th>Check</th><th class='num'>Passed</th><th class='num'>Judged</th>
<th>Most common failure</th></tr></thead><tbody>{check_rows}</tbody></table>
<h2>Learners</h2>
<table class='learners'><thead><tr><th>Learner</th><th class='num'>Score</th><th>Checks failed</th></tr></thead>
<tbody>{learner_rows}</tbody></table>
</body>
</html>
"""
