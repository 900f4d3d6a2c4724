"""Health checks: a HEALTHCHECK declared with sane timing, and a container that really reaches healthy."""

from __future__ import annotations

from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.results import Category


def healthcheck_declared(points: float, max_interval_s: float = 60.0, name: str = "healthcheck_declared") -> Check:
    """Judged from the Dockerfile: the grader runs the probe faster, so timing is checked here."""

    def run(ctx: GradingContext) -> Outcome:
        hc = ctx.require_dockerfile().healthcheck()
        if hc is None or hc.disabled:
            return Outcome.failed("The final stage declares no HEALTHCHECK.",
                                  "Add one that tests the real service, e.g. HEALTHCHECK --interval=10s --timeout=3s "
                                  "CMD python -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health')\"")
        problems = []
        if not 1.0 <= hc.interval <= max_interval_s:
            problems.append(f"--interval is {hc.interval:g} s (keep it between 1 and {max_interval_s:g} s so a failure is seen soon)")
        if hc.timeout >= hc.interval:
            problems.append(f"--timeout ({hc.timeout:g} s) is not shorter than --interval ({hc.interval:g} s): "
                            "a hung probe would overlap the next one")
        if hc.retries < 1:
            problems.append("--retries is below 1")
        if problems:
            return Outcome.failed(f"line {hc.line}: " + "; ".join(problems) + ".",
                                  "A good start: HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ...")
        return Outcome.passed(f"line {hc.line}: interval {hc.interval:g} s, timeout {hc.timeout:g} s, retries {hc.retries}.")

    return Check(name, "HEALTHCHECK declared with sane timing", points, Category.HEALTH, (Need.DOCKERFILE,), run)


def becomes_healthy(points: float, name: str = "becomes_healthy") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        readiness = ctx.readiness
        if readiness is None or readiness.healthy is None:
            return Outcome.failed("The image has no HEALTHCHECK, so Docker cannot tell whether the app works.",
                                  "Declare a HEALTHCHECK in the final stage that requests the app's /health endpoint.")
        if not readiness.healthy:
            return Outcome.failed(readiness.message, readiness.hint)
        became = (f"The container became healthy after {readiness.seconds:.1f} s "
                  f"(probed every {ctx.spec.limits.health_interval_s:g} s by the grader)")
        # Started by the Dockerfile kind with the container (graders/kinds/dockerfile.py), the only kind that runs one.
        assert ctx.idle_health is not None, "no idle copy of the image was started"
        verdict = ctx.idle_health.result()
        if verdict.passes_without_app:
            return Outcome.failed(
                f"{became}, but its HEALTHCHECK passes without the app: in a copy of the container where the app never "
                f"started, `{verdict.command}` still exited 0. A check that cannot fail tells Docker nothing.",
                "Make the HEALTHCHECK ask the app itself, e.g. CMD python -c \"import urllib.request; "
                "urllib.request.urlopen('http://127.0.0.1:PORT/health', timeout=2)\" (or curl -f, where the image has curl).")
        return Outcome.passed(f"{became}, and its test fails when the app is not running, as it should.")

    return Check(name, "Container reaches healthy", points, Category.HEALTH, (Need.CONTAINER,), run)
