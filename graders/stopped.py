"""Why a container is not running, read once from the engine's State for a single container and a stack's
service alike: killed at its memory limit, or its program ended (with its exit code). Each caller says it
in its own words; none reads the State fields itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stopped:
    out_of_memory: bool  # the kernel killed it at its memory limit
    exit_code: int | None  # what its program returned (137 after a kill), None while it still runs


def stopped(state: dict[str, Any]) -> Stopped | None:
    """None while the container runs (or restarts, or was never started)."""
    ended = state.get("Status") in ("exited", "dead")
    if not ended and not state.get("OOMKilled"):
        return None
    code = state.get("ExitCode")
    return Stopped(bool(state.get("OOMKilled")), int(code) if ended and code is not None else None)
