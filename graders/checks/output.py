"""Output checks for batch jobs: the container runs to completion and prints what the lab expects."""

from __future__ import annotations

import re

from graders import script_probe
from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.labels import run_labels
from graders.results import Category


def prints(points: float, patterns: tuple[str, ...], name: str = "prints_result",
           title: str = "Runs and prints the expected result", script: str | None = None) -> Check:
    """Exit code 0 and every pattern (a regular expression) found in the job's output; with `script`, the
    output must come from running it (graders/script_probe.py), not from a command that prints it."""

    def run(ctx: GradingContext) -> Outcome:
        result = ctx.run_result
        if result is None:
            return Outcome.failed("The job did not run.", "Check that the image has a CMD that runs the script.")
        tail = "\n".join(result.output.splitlines()[-15:]) or "(no output)"
        if result.exit_code != 0:
            return Outcome.failed(f"The job stopped with exit code {result.exit_code}. Its last lines:\n{tail}",
                                  "Run the image yourself (docker run --rm IMAGE) and read the error; "
                                  "check CMD and that every file the script opens is in the image.")
        missing = [p for p in patterns if not re.search(p, result.output)]
        if missing:
            return Outcome.failed(f"The job finished but its output lacks {missing}. Its last lines:\n{tail}",
                                  "The image must run the lab's script unchanged (CMD [\"python\", \"SCRIPT\"]).")
        if script is not None and ctx.build is not None:
            probed = script_probe.probe(ctx.build.image_id, ctx.image_attrs.get("Config") or {}, script,
                                        run_labels(ctx.run_id, ctx.spec.id), ctx.spec.limits)
            faked = probed.runs and all(re.search(p, probed.output) for p in patterns)
            if not probed.runs or faked:
                said = (f"with {script} swapped for one that prints a marker and fails, the expected lines were printed "
                        "all the same" if faked else probed.said)
                return Outcome.failed(
                    f"The output has the expected lines, but they do not come from {script}: {said}.",
                    f"Let the image run the lab's script as it is, e.g. CMD [\"python\", \"{script}\"]: the job is the "
                    "script's work, not its printed answer.")
        return Outcome.passed(f"Exit code 0 after {result.seconds:.1f} s; the output has every expected line"
                              + (f", printed by {script}." if script else "."))

    # Category: a batch job's output is its endpoint, the way it answers.
    return Check(name, title, points, Category.ENDPOINT, (Need.JOB_RESULT,), run, tags=("output",))
