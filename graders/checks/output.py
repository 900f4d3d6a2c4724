"""Output checks for batch jobs: the container runs to completion and prints what the lab expects."""

from __future__ import annotations

import re

from graders.context import GradingContext
from graders.results import Category
from graders.spec import Check, Outcome, Phase


def prints(points: float, patterns: tuple[str, ...], name: str = "prints_result",
           title: str = "Runs and prints the expected result") -> Check:
    """Exit code 0 and every pattern (a regular expression) found in the job's output."""

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
        return Outcome.passed(f"Exit code 0 after {result.seconds:.1f} s; the output has every expected line.")

    # Category: a batch job's output is its endpoint, the way it answers.
    return Check(name, title, points, Category.ENDPOINT, Phase.RUNTIME, run, tags=("output",))
