"""Tell a build that the network failed from one that the Dockerfile failed.

A learner's build downloads packages (pip, apt, npm, curl). When the index or a proxy on the way answers with
an error, times out or resets the connection, the step fails through no fault of the Dockerfile; grading it 0
would be wrong, and the same build usually succeeds a few seconds later. graders/build.py builds again when
the failed step shows such a fault (`retry_pauses`), and reports a fault that outlasts the retries as the
grader's `error`, never the learner's `failed`.

One sign is ambiguous: pip's "(from versions: none)". pip logs an index page that failed with an HTTP error
(a 403, 429 or 503 from a proxy) only at debug level, so all it prints is that no version was found; a
misspelt package name prints exactly the same. That sign earns one retry, after which the learner is told
both possibilities.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Faults of the connection itself, as pip (urllib3), apt, curl, wget, npm and Go (BuildKit) print them.
# Permanent faults (a host that does not exist, a refused connection, a 404) are not here: they are the
# Dockerfile's to fix, and building again would only repeat them.
TRANSIENT = re.compile(
    r"Temporary failure (?:in name resolution|resolving)"
    r"|Connection reset by peer|Connection timed out|Read timed out"
    r"|ReadTimeoutError|ConnectTimeoutError|IncompleteRead|RemoteDisconnected|Connection broken"
    r"|TLS handshake timeout|i/o timeout"
    r"|EAI_AGAIN|ECONNRESET|ETIMEDOUT|socket hang up"
    r"|Hash Sum mismatch|Could not connect to \S+ \(\S+\)\. - connect \(110"
    r"|\b(?:429 Too Many Requests|502 Bad Gateway|503 Service Unavailable|504 Gateway Time-?out)\b"
)
NO_VERSIONS = re.compile(r"Could not find a version that satisfies the requirement (\S+) \(from versions: none\)")

_LEGACY_STEP = re.compile(r"^Step \d+/\d+ : ")
_BUILDKIT_ERROR = re.compile(r"^#(\d+) ERROR: ")
_BUILDKIT_PREFIX = re.compile(r"^#\d+ (?:\d+\.\d+ )?")


@dataclass(frozen=True)
class NetworkFault:
    """What the failed step printed that points at the network."""

    line: str  # the line that shows it, as printed
    certain: bool  # False: pip found no versions, which a misspelt package name prints too
    requirement: str = ""  # for pip's "no versions": the requirement it could not find

    def describe(self) -> str:
        """The line without BuildKit's step number and time, cut to the part around the fault when long."""
        line = _BUILDKIT_PREFIX.sub("", self.line.strip(), count=1)
        line = line.split("after connection broken by ", 1)[-1]  # pip's retry warning: only its cause
        match = TRANSIENT.search(line) or NO_VERSIONS.search(line)
        if len(line) <= 200 or match is None:
            return line[:200]
        start, end = max(0, match.start() - 120), min(len(line), match.end() + 60)
        return ("…" if start else "") + line[start:end] + ("…" if end < len(line) else "")


def failed_step_lines(lines: Sequence[str]) -> list[str]:
    """The output of the step that failed: BuildKit's lines of the step marked ERROR, or the legacy builder's
    lines after its last "Step N/M". A fault retried and overcome in an earlier step is not this failure."""
    failed = next((m.group(1) for line in reversed(lines) if (m := _BUILDKIT_ERROR.match(line))), None)
    if failed is not None:
        return [line for line in lines if line.startswith(f"#{failed} ")]
    start = max((i for i, line in enumerate(lines) if _LEGACY_STEP.match(line)), default=-1)
    return list(lines[start + 1:])


def network_fault(lines: Sequence[str]) -> NetworkFault | None:
    """The network fault a failed build's log shows in its failing step, or None when it shows none."""
    step = failed_step_lines(lines)
    for line in reversed(step):
        if TRANSIENT.search(line):
            return NetworkFault(line, certain=True)
    for line in reversed(step):
        if match := NO_VERSIONS.search(line):
            return NetworkFault(line, certain=False, requirement=match.group(1))
    return None


# Pauses before each new try: two for a certain fault, one for pip's ambiguous "no versions" (a misspelt name
# then costs the learner one more try, not two).
CERTAIN_PAUSES_S = (5.0, 20.0)
UNCERTAIN_PAUSES_S = (15.0,)


def retry_pauses(fault: NetworkFault) -> tuple[float, ...]:
    return CERTAIN_PAUSES_S if fault.certain else UNCERTAIN_PAUSES_S


def no_versions_hint(fault: NetworkFault, tries: int) -> str:
    """What to tell a learner when pip found no versions of a requirement in every try."""
    return (f"pip found no version of {fault.requirement} in {tries} tries. Check the name and the version on "
            f"https://pypi.org (a misspelt name or a version that was never released prints exactly this). If both "
            "are right, pip could not read the package index: check your network or proxy and run the check again.")
