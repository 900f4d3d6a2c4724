"""Is the image's HEALTHCHECK a health check, or only a command that always succeeds?

`HEALTHCHECK CMD true` turns a container healthy whatever its app does. So once the container is healthy,
the grader runs the same test as the only process of a copy of the image (the app never starts, no
network): a test that asks the app fails; one that passes without the app judges nothing. The copy runs
under the lab's limits and the run's labels, and is removed whatever happens; an engine error propagates
(the grader's failure, not the learner's). A test that checks for the app's process (`grep gunicorn
/proc/1/cmdline`) is not caught: that needs the app frozen, which the other runtime checks would feel.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import docker.errors

from graders import engine
from graders.deadline import DeadlineExceeded, call_with_deadline
from graders.limits import Limits
from graders.threads import in_this_context


@dataclass(frozen=True)
class Verdict:
    judged: bool  # False when the test could not be run without the app (the image has no `sleep`)
    passes_without_app: bool
    command: str  # the test as the learner wrote it
    output: str


def health_argv(test: Sequence[str]) -> list[str] | None:
    """The command a HEALTHCHECK test runs: CMD's words, CMD-SHELL's line through /bin/sh; None for NONE."""
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return list(test[1:]) if test[0] == "CMD" else list(test)


def without_the_app(image_id: str, healthcheck: Mapping[str, Any], labels: Mapping[str, str], limits: Limits,
                    timeout_s: float = 10.0) -> Verdict:
    """Run the test as the only process of a copy of the image (no network, the app never started): its exit code
    is the verdict it would give on a container whose app is down."""
    test = list(healthcheck.get("Test") or [])
    argv = health_argv(test)
    shown = " ".join(test[1:]) if test else ""
    if argv is None:
        return Verdict(False, False, shown, "")
    with engine.probe_copy(image_id, limits, labels, command=argv, entrypoint=[],
                           healthcheck={"Test": ["NONE"]}) as copy:
        try:
            copy.start()
        except docker.errors.APIError as exc:  # its program is not in the image: it fails without the app too
            return Verdict(True, False, shown, str(exc.explanation or exc))
        try:
            code = int(call_with_deadline(lambda: copy.wait(), timeout_s).get("StatusCode", 1))
        except DeadlineExceeded:
            return Verdict(True, False, shown, f"(still running after {timeout_s:.0f} s)")
        output = copy.logs().decode("utf-8", "replace").strip()
        return Verdict(True, code == 0, shown, output[-300:])


def checking_nothing(probes: Mapping[str, tuple[str, Sequence[str]]], labels: Mapping[str, str],
                     limits: Limits) -> dict[str, Verdict]:
    """For each name, (image, test) judged in parallel; the verdicts of the tests that pass without the app."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(4, len(probes)))) as pool:
        futures = {name: pool.submit(in_this_context(without_the_app), image, {"Test": list(test)}, labels, limits)
                   for name, (image, test) in probes.items()}
        verdicts = {name: future.result() for name, future in futures.items()}
    return {name: verdict for name, verdict in verdicts.items() if verdict.passes_without_app}
