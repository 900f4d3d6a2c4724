"""A command run inside a learner's running container, for a single container and a stack's service alike.

The grader stops waiting at the deadline whatever the image holds: no `timeout` program of the learner's
is trusted to end it, and the command itself ends with the container at teardown."""

from __future__ import annotations

import docker.errors

from graders import engine
from graders.deadline import DeadlineExceeded, call_with_deadline

TIMED_OUT = 124  # as timeout(1) says it
COULD_NOT_RUN = 126  # as a shell says it of a command it cannot execute


def exec_in(container_id: str, argv: list[str], timeout_s: float, user: str | None = None) -> tuple[int, str]:
    """(exit code, output with stdout and stderr together) of argv in the container; TIMED_OUT or
    COULD_NOT_RUN, with the reason as output, when it did not finish in time or could not start."""
    api = engine.client().api

    def run() -> tuple[int, str]:
        exec_id = api.exec_create(container_id, argv, user=user or "")
        output = api.exec_start(exec_id)
        code = api.exec_inspect(exec_id).get("ExitCode")
        return int(code if code is not None else 1), output.decode("utf-8", errors="replace")

    try:
        return call_with_deadline(run, timeout_s)
    except DeadlineExceeded:
        return TIMED_OUT, f"`{' '.join(argv)}` did not finish within {timeout_s:.0f} s"
    except docker.errors.APIError as exc:
        return COULD_NOT_RUN, f"`{' '.join(argv)}` could not run: {exc.explanation or exc}"
