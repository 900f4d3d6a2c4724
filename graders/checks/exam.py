"""Checks of a practice-exam lab: a whole mock exam was taken (the questions its seed draws, each answered or the
time run out), and each domain's share of right answers reaches the pass mark. Every score is worked out again
from the recorded answers and the bank; nothing the record might claim is read."""

from __future__ import annotations

from graders.check_model import Check, Need, Outcome, Phase
from graders.context import GradingContext
from graders.exam import session
from graders.exam.question_bank import Bank, default
from graders.results import Category

NEEDS = (Need.ATTEMPT,)
PASS_PERCENT = 70.0  # the course's mark per domain: Mirantis does not publish the exam's


def _attempt(ctx: GradingContext) -> session.Attempt:
    assert ctx.attempt is not None, "exam checks run only once the record was read"
    return ctx.attempt


def _not_a_mock(ctx: GradingContext) -> tuple[str, str] | None:
    return not_a_mock(_attempt(ctx), default())


def not_a_mock(attempt: session.Attempt, bank: Bank) -> tuple[str, str] | None:
    """Why the record is not a whole mock exam (message, hint), or None when it is: the questions its seed draws,
    answered to the end or until the time ran out. (scripts/make_exam_attempts.py applies the same rule.)"""
    hint = ("Take the mock exam with the mock exam cell of `dca-exam.ipynb`, and leave `mock-exam.json` as it "
            "writes it.")
    if attempt.kind != "mock":
        return "The record is of a practice round, not of a mock exam.", hint
    drawn = [a.id for a in session.draw_mock(bank, attempt.seed)]
    if [a.id for a in attempt.asked] != drawn:
        return (f"The record's questions are not the {len(drawn)} that its seed ({attempt.seed}) draws: it was "
                "changed after the exam, or made by hand.", hint)
    result = session.score(attempt, bank)
    if result.unanswered and not attempt.timed_out:
        return (f"The exam stopped after {result.total - result.unanswered} of {result.total} questions, with time "
                "left.", "Run the mock exam cell of `dca-exam.ipynb` again and answer to the end.")
    return None


def mock_completed(points: float, name: str = "mock_completed") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        blocker = ctx.blocker_for(Phase.STATIC)
        if blocker is not None:
            return Outcome.failed(blocker.message, blocker.hint)
        try:
            problem = _not_a_mock(ctx)
        except ValueError as exc:
            return Outcome.error(f"The question bank cannot draw a mock exam: {exc}")
        if problem is not None:
            return Outcome.failed(*problem)
        result = session.score(_attempt(ctx), default())
        ended = " The time ran out: unanswered questions count as not right." if _attempt(ctx).timed_out else ""
        return Outcome.passed(f"A mock exam of {result.total} questions: {result.right} right "
                              f"({result.percent:.0f}%).{ended}")

    return Check(name, "A whole mock exam taken", points, Category.QUIZ, NEEDS, run, reports="parse")


def domain_score(points: float, domain: str, title: str, name: str | None = None) -> Check:
    """The domain's share of right answers in the mock exam reaches PASS_PERCENT. (The bank is read when the check
    runs, not when the lab is loaded: every `mastery` command loads every lab.)"""

    def run(ctx: GradingContext) -> Outcome:
        bank = default()
        try:
            if _not_a_mock(ctx) is not None:
                return Outcome.failed("Not checked: the record is not a whole mock exam (see mock_completed).", "")
        except ValueError as exc:
            return Outcome.error(f"The question bank cannot draw a mock exam: {exc}")
        result = session.score(_attempt(ctx), bank)
        mine = next((d for d in result.domains if d.domain == domain), None)
        if mine is None:
            return Outcome.failed(f"The exam asked nothing of {title}.", "Take the whole mock exam.")
        seen = f"{mine.right} of {mine.asked} right in {title} ({mine.percent:.0f}%)"
        if mine.percent >= PASS_PERCENT:
            return Outcome.passed(f"{seen}.")
        wrong = [item for item in session.review(_attempt(ctx), bank) if item["domain"] == domain]
        pages = sorted({str(item["lesson"]).partition("#")[0] for item in wrong})
        return Outcome.failed(f"{seen}; the mark is {PASS_PERCENT:.0f}%.",
                              f"Read again: {', '.join(pages)}; then practise the domain with "
                              f"`mastery exam --domain {domain}`.")

    return Check(name or f"domain_{domain}", f"{title}: {PASS_PERCENT:.0f}% or more", points, Category.QUIZ, NEEDS, run)
