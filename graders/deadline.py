"""A deadline on a blocking call the grader cannot interrupt (an `exec` into a learner's container, an
engine request): the caller gets its answer or gives up in time, whatever the learner's code does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from graders.threads import in_this_context

T = TypeVar("T")


class DeadlineExceeded(TimeoutError):
    """The call did not return within its time; it may still be running in its (daemon) thread."""


def call_with_deadline(fn: Callable[[], T], timeout_s: float) -> T:
    """fn() in a daemon thread, so a call that never returns can hold neither the run nor the interpreter's
    exit; re-raises what fn raised."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller, who decides
            outcome["error"] = exc

    thread = threading.Thread(target=in_this_context(target), name="mastery-deadline", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise DeadlineExceeded(f"no answer within {timeout_s:.0f} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
