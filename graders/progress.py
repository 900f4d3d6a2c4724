"""The learner's record of their own checks: per lab, the last verdict on their folder, kept in labs/.progress.json.

Why keep one: a learner who comes back after a week sees which labs passed, which are partly done and which
they never tried (`mastery progress`, labs/my-progress.ipynb) without grading them all again. Only their own
work counts: a folder inside the labs root (a reference solution or a variant graded from a temporary folder
is not theirs), and only a real verdict: a run that could not grade, or on which the grader itself failed,
says nothing about the work, so the lab's previous entry stays.

MASTERY_PROGRESS_FILE moves the record (tests, a shared machine); MASTERY_PROGRESS=off keeps none.
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from graders.results import GradeReport, Status
from graders.spec import REPO_ROOT

log = logging.getLogger(__name__)

LABS_ROOT = REPO_ROOT / "labs"  # where the learner's lab folders are (LabSpec.starter_dir), and JupyterLab's root
FILE_ENV = "MASTERY_PROGRESS_FILE"
SWITCH_ENV = "MASTERY_PROGRESS"
_OFF = {"off", "0", "false", "no"}
_LAYOUT = 1  # the file's layout: a file of another one reads as empty rather than as wrong figures


class State(enum.StrEnum):
    """Where a learner stands on a lab, in the words the table shows."""

    NOT_STARTED = "not started"  # never checked from the learner's folder
    ATTEMPTED = "attempted"  # checked, no points yet
    PARTLY_DONE = "partly done"  # some points, not every check passed
    PASSED = "passed"  # every check passed (checks this host could not run are not counted, as in the score)


@dataclass(frozen=True)
class Entry:
    """The last verdict on one lab: enough to show it, nothing of the learner's files."""

    state: State
    score: float
    max_score: float
    checked_at: str  # UTC, ISO 8601
    passed: int  # how many checks passed, failed, and were skipped on that host
    failed: int
    skipped: int

    @classmethod
    def of(cls, report: GradeReport, when: datetime.datetime) -> Entry:
        if report.all_passed:
            state = State.PASSED
        elif report.score > 0:
            state = State.PARTLY_DONE
        else:
            state = State.ATTEMPTED
        count = {status: sum(1 for r in report.results if r.status is status) for status in Status}
        return cls(state=state, score=report.score, max_score=report.max_score,
                   checked_at=when.astimezone(datetime.UTC).isoformat(timespec="seconds"),
                   passed=count[Status.PASSED], failed=count[Status.FAILED], skipped=count[Status.SKIPPED])

    def to_json(self) -> dict[str, object]:
        return {"state": self.state.value, "score": self.score, "max_score": self.max_score,
                "checked_at": self.checked_at, "passed": self.passed, "failed": self.failed, "skipped": self.skipped}

    @classmethod
    def from_json(cls, data: object) -> Entry | None:
        """The entry, or None when it is not one (a hand edit, another layout): one bad entry loses only itself."""
        if not isinstance(data, dict):
            return None
        try:
            counts = [data[k] for k in ("passed", "failed", "skipped")]
            figures = [data["score"], data["max_score"]]
            if not all(isinstance(n, int) and not isinstance(n, bool) for n in counts) or not all(
                    isinstance(x, int | float) and not isinstance(x, bool) for x in figures):
                return None
            checked_at = data["checked_at"]
            datetime.datetime.fromisoformat(checked_at)
            state = State(data["state"])
        except (KeyError, TypeError, ValueError):
            return None
        if state is State.NOT_STARTED:
            return None
        return cls(state, float(figures[0]), float(figures[1]), checked_at, *counts)


def progress_file() -> Path:
    """labs/.progress.json, or MASTERY_PROGRESS_FILE: hidden in JupyterLab's file browser, beside the labs."""
    named = os.environ.get(FILE_ENV, "").strip()
    return Path(named).expanduser() if named else LABS_ROOT / ".progress.json"


def recording() -> bool:
    return os.environ.get(SWITCH_ENV, "").strip().lower() not in _OFF


def is_learners_folder(folder: str | Path) -> bool:
    """Whether `folder` is under the labs root: the learner's own work, not a solution in a temporary folder."""
    try:
        resolved, root = Path(folder).resolve(), LABS_ROOT.resolve()
    except (OSError, RuntimeError):
        return False
    return resolved != root and resolved.is_relative_to(root)


def load(file: Path | None = None) -> dict[str, Entry]:
    """Every lab's entry; an absent, unreadable or corrupt file is an empty record, never an error."""
    file = file or progress_file()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # ValueError: bad JSON or undecodable bytes
        log.debug("progress: %s is unreadable (%s); starting afresh", file, exc)
        return {}
    if not isinstance(data, dict) or data.get("layout") != _LAYOUT or not isinstance(data.get("labs"), dict):
        log.debug("progress: %s is not a progress file of layout %s; starting afresh", file, _LAYOUT)
        return {}
    entries = {str(lab): Entry.from_json(entry) for lab, entry in data["labs"].items()}
    return {lab: entry for lab, entry in entries.items() if entry is not None}


def record(report: GradeReport, folder: str | Path, now: datetime.datetime | None = None) -> bool:
    """Keep `report` as the lab's last verdict when it is a verdict on the learner's own folder; say whether
    it was kept. May raise OSError (a read-only checkout): whoever grades catches it, grading comes first."""
    if not recording() or report.problem or report.grader_failed or not is_learners_folder(folder):
        return False
    entry = Entry.of(report, now or datetime.datetime.now(datetime.UTC))
    file = progress_file()
    with _locked(file):  # read, change, write as one step: two checks at once must not lose one of them
        entries = load(file)
        entries[report.lab_id] = entry
        _write(file, json.dumps({"layout": _LAYOUT, "labs": {lab: e.to_json() for lab, e in sorted(entries.items())}},
                                indent=2) + "\n")
    return True


@contextlib.contextmanager
def _locked(file: Path) -> Iterator[None]:
    """An exclusive lock on a file beside the record; the record itself is replaced, so it cannot hold one."""
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.with_name(f"{file.name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write(file: Path, text: str) -> None:
    """Through a temporary file and a rename: a reader, or a crash, never sees half a record."""
    fd, temp = tempfile.mkstemp(dir=file.parent, prefix=f"{file.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
