"""Write the dca-exam lab's reference record and its variants from the question bank: a mock exam answered right,
one whose time ran out, and records that must fail (a weak domain, an exam stopped half-way, none at all, hand-
picked questions). Run it after changing the bank; tests/test_exam.py fails while they are out of date.

    .venv/bin/python scripts/make_exam_attempts.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graders.checks.exam import PASS_PERCENT, not_a_mock
from graders.exam import session
from graders.exam.question_bank import Bank, Question, default
from graders.labs.dca_exam.spec import DOMAINS

LAB = Path(__file__).resolve().parent.parent / "graders" / "labs" / "dca_exam"
FILE = "mock-exam.json"
SEED = 2026
STARTED = 1_767_225_600.0  # 2026-01-01 00:00 UTC: the records are fixtures, not anyone's exam


def answered(bank: Bank, right: Callable[[int, Question], bool | None], *, timed_out: bool = False,
             asked: list[session.Asked] | None = None) -> session.Attempt:
    """A mock exam with each question answered right (True), wrong (False) or not at all (None)."""
    attempt = session.Attempt("mock", None, SEED, session.MOCK_MINUTES, STARTED, asked or session.draw_mock(bank, SEED))
    for n, item in enumerate(attempt.asked):
        question = bank.question(item.id)
        verdict = right(n, question)
        if verdict is None:
            continue
        if item.mode == session.MC:
            wrong = next(i for i in item.order if i != question.right)
            item.choice = question.right if verdict else wrong
            continue
        for option in item.order:
            correct = question.options[option].correct
            item.said.append(correct if verdict else not correct)
            if correct or not verdict:
                break
    attempt.timed_out = timed_out
    attempt.finished = STARTED + (session.MOCK_MINUTES if timed_out else 50) * 60
    return attempt


def toml(description: str, fails: list[str], attempt: session.Attempt | None) -> str:
    lines = [f"description = {json.dumps(description)}", f"fails = {json.dumps(fails)}", ""]  # JSON strings are TOML
    if attempt is None:
        return "\n".join([*lines, f'delete = ["{FILE}"]', ""])
    return "\n".join([*lines, "[[write]]", f'file = "{FILE}"', "content = '''", attempt.to_json(), "'''", ""])


def failing(bank: Bank, attempt: session.Attempt) -> list[str]:
    """The checks a record fails, by the lab's own rule: the mock must be whole, then each domain at 70%."""
    if not_a_mock(attempt, bank) is not None:
        return ["mock_completed", *(f"domain_{d}" for d, _, _ in DOMAINS)]
    return [f"domain_{d.domain}" for d in session.score(attempt, bank).domains if d.percent < PASS_PERCENT]


def files(bank: Bank) -> dict[Path, str]:
    everything = answered(bank, lambda n, q: True)
    late = answered(bank, lambda n, q: True if n < 52 else None, timed_out=True)
    weak = answered(bank, lambda n, q: q.domain != "networking")
    early = answered(bank, lambda n, q: True if n < 20 else None)
    picked = answered(bank, lambda n, q: True, asked=[session.Asked(q.id, session.DOMC, list(range(len(q.options))))
                                                      for q in bank.questions[:session.MOCK_QUESTIONS]])
    out = {LAB / "solution" / FILE: everything.to_json() + "\n"}
    variants = {
        "alternatives/time-ran-out": ("The time ran out with three questions unanswered: the exam is whole, and the "
                                      "52 answers given carry every domain.", late),
        "broken/weak-networking": ("Every networking question answered wrong: that domain fails, the others pass.", weak),
        "broken/stopped-early": ("Stopped after 20 questions with time left: not a whole mock exam.", early),
        "broken/no-attempt": ("No mock exam taken: mock-exam.json is not there.", None),
        "gaming/hand-picked": ("A record of 55 questions of the learner's choosing, all answered right: not the "
                               "questions its seed draws, so no domain is scored.", picked),
    }
    for name, (description, attempt) in variants.items():
        fails = failing(bank, attempt) if attempt is not None else ["mock_completed", *(f"domain_{d}" for d, _, _ in DOMAINS)]
        out[LAB / f"{name}.toml"] = toml(description, fails, attempt)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only say whether the files are current; exit 1 if not")
    args = parser.parse_args()
    stale = []
    for path, text in files(default()).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(LAB)}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
