"""Waiting for a line in a container's log: one helper for the tests that start containers themselves."""

from __future__ import annotations

import time
from typing import Any

LIVE = {"created", "running"}


def wait_for_log(container: Any, text: str, timeout: float = 60) -> str:
    """The container's log once it holds `text`. Fails (with the log) when the container ended without printing
    it, or after `timeout` seconds. After the container ends its log is read once more: a line printed just
    before the end, after the last reading, still counts."""
    deadline = time.monotonic() + timeout
    while True:
        logs = container.logs().decode(errors="replace")
        if text in logs:
            return logs
        container.reload()
        if container.status not in LIVE:
            logs = container.logs().decode(errors="replace")
            if text in logs:
                return logs
            raise AssertionError(f"the container ended ({container.status}) before printing {text!r}:\n{logs}")
        if time.monotonic() >= deadline:
            raise AssertionError(f"no {text!r} within {timeout} s:\n{logs}")
        time.sleep(0.2)
