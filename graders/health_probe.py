"""Is the image's HEALTHCHECK a health check, or only a command that always succeeds?

`HEALTHCHECK CMD true` turns a container healthy whatever its app does. So once the container is healthy,
the grader starts a copy of the image in which the app never starts (the command replaced by an idle one,
no network) and runs the same test there: a test that asks the app fails; one that passes without the
app judges nothing. The copy runs under the lab's limits and the run's labels, and is removed whatever
happens; an engine error propagates (the grader's failure, not the learner's).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import docker.errors

from graders import engine
from graders.deadline import DeadlineExceeded, call_with_deadline
from graders.spec import Limits

IDLE = ["sleep", "120"]  # coreutils' sleep: in every image built on Debian, Ubuntu or the Python images
SETTLE_S = 0.3  # a copy that dies at once (no `sleep` in it) has done so by then


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
    test = list(healthcheck.get("Test") or [])
    argv = health_argv(test)
    shown = " ".join(test[1:]) if test else ""
    if argv is None:
        return Verdict(False, False, shown, "")
    client = engine.client()
    copy = client.containers.run(
        image_id, IDLE, entrypoint=[], detach=True, labels=dict(labels), network_mode="none",
        healthcheck={"Test": ["NONE"]}, mem_limit=limits.memory_bytes, memswap_limit=limits.memory_bytes,
        pids_limit=limits.pids, nano_cpus=limits.nano_cpus, security_opt=["no-new-privileges"])
    try:
        time.sleep(SETTLE_S)
        copy.reload()
        if copy.status != "running":
            return Verdict(False, False, shown, "")
        try:
            result = call_with_deadline(lambda: copy.exec_run(argv), timeout_s)
        except DeadlineExceeded:
            return Verdict(True, False, shown, f"(still running after {timeout_s:.0f} s)")
        output = (result.output or b"").decode("utf-8", "replace").strip()
        return Verdict(True, result.exit_code == 0, shown, output[-300:])
    finally:
        with contextlib.suppress(docker.errors.APIError):
            copy.remove(force=True)


def checking_nothing(probes: Mapping[str, tuple[str, Sequence[str]]], labels: Mapping[str, str],
                     limits: Limits) -> dict[str, Verdict]:
    """For each name, (image, test) judged in parallel; the verdicts of the tests that pass without the app."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(4, len(probes)))) as pool:
        futures = {name: pool.submit(without_the_app, image, {"Test": list(test)}, labels, limits)
                   for name, (image, test) in probes.items()}
        verdicts = {name: future.result() for name, future in futures.items()}
    return {name: verdict for name, verdict in verdicts.items() if verdict.passes_without_app}
