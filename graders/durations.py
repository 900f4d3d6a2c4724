"""Go durations as Docker and Compose write them ("30s", "1m30s", "500ms"), in seconds: one parser for the
Dockerfile's HEALTHCHECK options and a compose file's healthcheck, so both read a value alike. And the engine's
own times (RFC 3339 with nanoseconds), in seconds since the epoch."""

from __future__ import annotations

import re
from datetime import datetime

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a Go duration; ValueError, saying how to write one, for anything else."""
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"{text!r} is not a duration (write it like 30s, 500ms or 1m30s)")
    return total


def seconds_or_zero(text: str) -> float:
    """A duration Compose has already checked and normalised, or 0.0 where none was written."""
    return parse_duration(text) if text else 0.0


def engine_epoch(stamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 time as the engine writes it (nanoseconds, Z); 0 if unreadable."""
    try:
        return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", stamp)).timestamp()
    except ValueError:
        return 0.0
