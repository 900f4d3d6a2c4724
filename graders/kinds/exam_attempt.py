"""The steps of grading a practice-exam lab: read the learner's record of a mock exam (the answers as they gave
them, `graders/exam/session.py`) and score it again from the question bank. Nothing is built or started."""

from __future__ import annotations

import json

from graders.check_model import Need, Phase
from graders.context import Blocker, GradingContext
from graders.exam import session
from graders.kinds import Progress
from graders.kinds.file_only import FileOnlyKind

ATTEMPT_FILE = "mock-exam.json"  # what the notebook's exam cell writes, in the lab's folder
MAX_BYTES = 512 * 1024


def _parse(ctx: GradingContext, say: Progress) -> None:
    say("Reading your mock exam")
    path = ctx.submission / ATTEMPT_FILE
    hint = ("Run the mock exam cell of `dca-exam.ipynb` (or `mastery exam --mock --save mock-exam.json` in this folder): "
            "it writes `mock-exam.json` after every answer.")
    if not path.is_file() or path.is_symlink():
        ctx.blockers[Phase.STATIC] = Blocker("parse", f"There is no `{ATTEMPT_FILE}` in your folder: no mock exam was taken.",
                                             hint, summary="a mock exam must be taken first (see mock_completed).")
        return
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ValueError(f"it is larger than {MAX_BYTES // 1024} KB")
        ctx.attempt = session.Attempt.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError, json.JSONDecodeError) as exc:
        ctx.blockers[Phase.STATIC] = Blocker("parse", f"`{ATTEMPT_FILE}` is not a record of an exam ({exc}).",
                                             hint + " Do not edit it: the grader scores the answers it records.",
                                             summary="the mock exam's record must be readable (see mock_completed).")


class ExamAttemptKind(FileOnlyKind):
    name = "exam-attempt"
    needs = frozenset({Need.FILES, Need.ATTEMPT})

    def parse(self, ctx: GradingContext, say: Progress) -> None:
        _parse(ctx, say)


KIND = ExamAttemptKind()
